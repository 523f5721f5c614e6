"""Starts train.py as a SageMaker training job with the PyTorch estimator
(docs/deploy.md, "The PyTorch estimator"). Needs the SageMaker Python SDK
(pip install sagemaker) and AWS credentials; tests compile this file and run
it against a stand-in for the SDK (python/tests/test_sagemaker_recipe.py).

    cp dist/fitwatch-*.whl examples/python/sagemaker/     # the wheel, next to requirements.txt
    ROLE=arn:aws:iam::123456789012:role/fitwatch-sagemaker \\
    DATA=s3://my-bucket/fashion-mnist/ python3 examples/python/sagemaker/launch.py
"""
import glob
import os
import sys

from sagemaker.pytorch import PyTorch

HERE = os.path.dirname(os.path.abspath(__file__))

if not glob.glob(os.path.join(HERE, "fitwatch-*.whl")):
    sys.exit("launch.py: copy the fitwatch wheel (make wheel: dist/fitwatch-*.whl) into " + HERE)

estimator = PyTorch(
    entry_point="train.py",
    source_dir=HERE,                 # uploaded as is: train.py, requirements.txt, the wheel
    framework_version="2.1",         # a SageMaker PyTorch training image (Ubuntu 20.04)
    py_version="py310",
    role=os.environ["ROLE"],
    instance_count=1,
    instance_type="ml.m5.large",
    hyperparameters={
        "epochs": 30,                # train.py's own options
        "train-size": 2000,
        "fitwatch_patience": 5,      # fitwatch's settings (docs/settings.md)
        "fitwatch_smoothing": 0.5,
        "fitwatch_namespace": "FitWatch",
    },
    max_run=3600,
)
estimator.fit({"training": os.environ["DATA"]}, job_name=os.environ.get("JOB"))
