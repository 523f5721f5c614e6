"""Reading CloudFormation templates (YAML short-form tags or JSON) for tests."""
import json

import yaml


class _Loader(yaml.SafeLoader):
    pass


def _tag(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "GetAtt":
                return {"Fn::GetAtt": value.split(".", 1)}
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if name in ("Ref", "Condition"):  # !Condition X in Conditions: {"Condition": "X"}
            return {name: value}
        return {"Fn::" + name: value}

    return construct


for _name in ["Ref", "Condition", "Sub", "GetAtt", "If", "Not", "Equals", "And", "Or", "Join", "Select",
              "Split", "Contains", "FindInMap", "Base64", "Cidr", "ImportValue", "GetAZs",
              "ToJsonString", "Length"]:
    _Loader.add_constructor("!" + _name, _tag(_name))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load(path_or_text, text=False):
    source = path_or_text if text else read(path_or_text)
    if source.lstrip().startswith("{"):
        return json.loads(source)
    return yaml.load(source, Loader=_Loader)
