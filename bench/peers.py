#!/usr/bin/env python3
"""fitwatch against the official peer EMF libraries (aws-embedded-metrics and
@aws-lambda-powertools/metrics, Node.js, pinned in bench/node/package-lock.json),
doing the same work in one run: first a check that all three write equivalent
EMF (same metrics, units, resolutions, values, dimensions and properties after
parsing), then 5 timed runs each of 200,000 evaluations to /dev/null; the
median per-evaluation time and each process's peak memory.

usage: peers.py PEER_FITWATCH_BINARY [EVALUATIONS] [RUNS]
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = os.path.join(HERE, "node")


def command(peer, n):
    if peer.startswith("fitwatch"):
        return [sys.argv[1], peer.split("-", 1)[1], str(n)]
    return ["node", os.path.join(NODE, "peers.js"), peer, str(n)]


def normalize(line, peer):
    """What CloudWatch extracts from a line: metrics (name, unit, resolution,
    value), dimensions and properties. Powertools always adds a `service`
    dimension (its design); it is removed before comparing."""
    e = json.loads(line)
    d = e["_aws"]["CloudWatchMetrics"][0]
    dims = [sorted(x for x in s if x != "service") for s in d["Dimensions"]]
    metrics = {m["Name"]: (m.get("Unit", "None"), m.get("StorageResolution", 60), e[m["Name"]])
               for m in d["Metrics"]}
    names = {m["Name"] for m in d["Metrics"]} | {"_aws", "service"} | {x for s in d["Dimensions"] for x in s}
    props = {k: v for k, v in e.items() if k not in names}
    return {"namespace": d["Namespace"], "dimensions": dims, "dimension_values":
            {x: e[x] for s in dims for x in s}, "metrics": metrics, "properties": props}


def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    peers = ["fitwatch-async", "fitwatch-sync", "aws-embedded-metrics", "powertools"]
    outputs = {}
    for p in peers:
        out = subprocess.run(command(p, 3), capture_output=True, text=True, check=True).stdout
        lines = out.strip().splitlines()
        outputs[p] = [normalize(l, p) for l in lines[-3:]]
    reference = outputs["fitwatch-sync"]
    for p in peers:
        if outputs[p] != reference:
            print("EMF of %s differs from fitwatch's:\n%s\n%s" % (p, outputs[p][0], reference[0]))
            sys.exit(1)
    print("equivalent EMF: all four write the same metrics, units, resolutions, values, "
          "dimensions and properties (3 evaluations compared after parsing)")
    results = {}
    with open(os.devnull, "w") as null:
        for p in peers:
            times, rss = [], []
            for _ in range(runs):
                r = subprocess.run(command(p, n), stdout=null, stderr=subprocess.PIPE, text=True, check=True)
                j = json.loads(r.stderr.strip().splitlines()[-1])
                times.append(j["ns_per_evaluation"])
                rss.append(j["peak_rss_kb"])
            results[p] = (statistics.median(times), max(rss))
    fastest_peer = min(results["aws-embedded-metrics"][0], results["powertools"][0])
    print("\n%d evaluations to /dev/null, median of %d runs, one machine, one run of this script:" % (n, runs))
    print("| library | ns / evaluation | faster peer / this | peak RSS |")
    print("|---|---|---|---|")
    labels = {"fitwatch-async": "fitwatch (training thread; writer thread does the rest)",
              "fitwatch-sync": "fitwatch (serialize + write on the calling thread)",
              "aws-embedded-metrics": "aws-embedded-metrics 4.2.1 (Node.js)",
              "powertools": "@aws-lambda-powertools/metrics 2.36.0 (Node.js)"}
    for p in peers:
        ns, rss = results[p]
        print("| %s | %.0f | %.1fx | %.0f MB |" % (labels[p], ns, fastest_peer / ns, rss / 1024))


if __name__ == "__main__":
    main()
