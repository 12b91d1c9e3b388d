#!/usr/bin/env python3
"""Checks the Grafana dashboard's queries against what the servers really export.

usage: check_dashboard.py DASHBOARD_JSON METRICS_TEXT... [--may-be-absent NAME...]

Every PromQL query of the dashboard (panel targets, in rows too, and `label_values` variables) is parsed
with promql-parser (PyPI: bindings to the Rust PromQL parser GreptimeDB maintains) once Grafana's variables
are replaced. Then every metric a selector names must appear in one of the METRICS_TEXT files (the servers'
`GET /metrics` after traffic), and every label a matcher or a `by (...)` names must be a label of the
metrics it applies to (`job` and `instance` are added by Prometheus when it scrapes). NAMEs after
--may-be-absent may be missing from the scrapes (a feature the scraped servers ran with turned off); their
labels are then not checked. Exit status 1 with a list of the problems when anything does not hold.
"""

import json
import re
import sys

import promql_parser

SCRAPE_LABELS = {"job", "instance"}
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$job": ".*",
    "${job}": ".*",
}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')


def exported(paths):
    """Metric name -> the label names its samples carry, from Prometheus text files."""
    labels = {}
    for path in paths:
        with open(path, encoding="utf-8") as text:
            for line in text:
                match = SAMPLE.match(line)
                if match and not line.startswith("#"):
                    labels.setdefault(match[1], set()).update(LABEL.findall(match[2] or ""))
    return labels


def queries(dashboard):
    """(where, PromQL or label_values query) for every query of the dashboard."""
    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield f"panel {panel.get('title')!r}", target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") == "query" and query:
            yield f"variable {variable.get('name')!r}", query


def substituted(query):
    for variable in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        query = query.replace(variable, GRAFANA_VARIABLES[variable])
    return query


def nodes(node):
    """Every node of an expression, depth first."""
    yield node
    for field in ("expr", "lhs", "rhs", "param", "vector_selector"):
        child = getattr(node, field, None)
        if child is not None and not isinstance(child, (int, float, str)):
            yield from nodes(child)
    for argument in getattr(node, "args", None) or []:
        yield from nodes(argument)


def selectors(node):
    """Every VectorSelector in an expression (a range selector's included)."""
    return [n for n in nodes(node) if type(n).__name__ == "VectorSelector"]


def aggregations(node):
    """Every AggregateExpr in an expression."""
    return [n for n in nodes(node) if type(n).__name__ == "AggregateExpr"]


def check(where, query, labels, may_be_absent, problems):
    label_values = re.fullmatch(r"\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", query)
    if label_values:
        metric, label = label_values.groups()
        if metric:
            check(where, metric, labels, may_be_absent, problems)
            names = {s.name for s in selectors(promql_parser.parse(substituted(metric)))}
            known = set().union(*(labels.get(name, set()) for name in names)) | SCRAPE_LABELS
            if label not in known:
                problems.append(f"{where}: label_values names label {label!r}, which {sorted(names)} do not have")
        return
    try:
        expression = promql_parser.parse(substituted(query))
    except Exception as error:  # the parser's own exception type is not exported
        problems.append(f"{where}: does not parse: {error}\n    {query}")
        return
    for selector in selectors(expression):
        name = selector.name
        if name not in labels:
            if name not in may_be_absent:
                problems.append(f"{where}: {name!r} is not exported by the scraped servers\n    {query}")
            continue
        for matcher in selector.matchers.matchers:
            if matcher.name not in labels[name] | SCRAPE_LABELS | {"__name__"}:
                problems.append(f"{where}: {name} has no label {matcher.name!r}\n    {query}")
    for aggregation in aggregations(expression):
        grouping = list(aggregation.modifier.labels) if aggregation.modifier else []
        names = [s.name for s in selectors(aggregation.expr)]
        if any(name not in labels for name in names):
            continue  # reported above, or allowed to be absent
        known = set().union(*(labels.get(name, set()) for name in names)) | SCRAPE_LABELS
        for label in grouping:
            if label not in known:
                problems.append(f"{where}: grouping by {label!r}, a label none of {names} has\n    {query}")


def main(argv):
    may_be_absent = set()
    if "--may-be-absent" in argv:
        at = argv.index("--may-be-absent")
        argv, may_be_absent = argv[:at], set(argv[at + 1:])
    if len(argv) < 2:
        sys.exit(__doc__)
    with open(argv[0], encoding="utf-8") as file:
        dashboard = json.load(file)
    labels = exported(argv[1:])
    problems, count = [], 0
    for where, query in queries(dashboard):
        count += 1
        check(where, query, labels, may_be_absent, problems)
    if count == 0:
        problems.append("the dashboard has no queries")
    for problem in problems:
        print(problem)
    print(f"{count} queries checked against {len(labels)} exported metrics: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
