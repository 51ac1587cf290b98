"""Shared helpers of the monitoring checks: the selectors a PromQL expression reads, the
queries of a Grafana dashboard with its variables expanded, the Prometheus text format,
and GitHub's heading anchors."""
import re

# --- PromQL: which series an expression reads -------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>\.?[0-9][0-9a-zA-Z_.]*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^=<>(){}\[\],@])
""", re.VERBOSE)

# Words followed by a parenthesised list of label names, and the other keywords.
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = _GROUPING | {"and", "or", "unless", "offset", "bool", "inf", "nan", "atan2"}
_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                 "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}


class PromqlError(ValueError):
    pass


def _tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise PromqlError(f"cannot read {expr[pos:pos + 20]!r} in {expr!r}")
        pos = m.end()
        if m.lastgroup != "space":
            out.append((m.lastgroup, m.group()))
    return out


def _unquote(text):
    if text[0] == "`":
        return text[1:-1]
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _skip_group(toks, i, open_, close):
    """The index after the bracket that closes the one at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][1] == open_:
            depth += 1
        elif toks[j][1] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    raise PromqlError(f"unbalanced {open_}")


def _matchers(toks, i):
    """(matchers, index after '}') for the label matchers opening at toks[i] == '{'."""
    out, j = [], i + 1
    while toks[j][1] != "}":
        if toks[j][1] == ",":
            j += 1
            continue
        (k1, label), (k2, op), (k3, value) = toks[j], toks[j + 1], toks[j + 2]
        if k1 != "ident" or k2 != "op" or k3 != "string":
            raise PromqlError(f"bad label matcher near {label!r}")
        out.append((label, op, _unquote(value)))
        j += 3
    return out, j + 1


def selectors(expr):
    """Every series selector of a PromQL expression, as (metric name, [(label, op, value)])."""
    toks = _tokens(expr)
    found, i = [], 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "ident":
            low = text.lower()
            if low in _GROUPING and nxt == "(":
                i = _skip_group(toks, i + 1, "(", ")")
                continue
            if low in _KEYWORDS or nxt == "(" or (low in _AGGREGATIONS and nxt in _GROUPING):
                i += 1
                continue
            matchers = []
            i += 1
            if nxt == "{":
                matchers, i = _matchers(toks, i)
            found.append((text, matchers))
            continue
        if text == "{":
            matchers, i = _matchers(toks, i)
            names = [v for label, op, v in matchers if label == "__name__" and op == "="]
            found.append((names[0] if names else None, matchers))
            continue
        if text == "[":
            i = _skip_group(toks, i, "[", "]")
            continue
        i += 1
    return found


# --- Grafana dashboards --------------------------------------------------------------------

# Grafana's own interval variables, as a range a rules file accepts.
BUILTIN_VARIABLES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h",
                     "__interval_ms": "60000", "__range_s": "3600"}
# What a dashboard variable becomes: a string PromQL accepts inside a label matcher, and
# that marks the matcher's value as "chosen by the user" (not checked against /metrics).
VARIABLE_VALUE = "__grafana_variable__"
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def expand_variables(expr, names):
    """The query with Grafana variables replaced; raises PromqlError on an unknown one."""
    def sub(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN_VARIABLES:
            return BUILTIN_VARIABLES[name]
        if name in names:
            return VARIABLE_VALUE
        raise PromqlError(f"undefined dashboard variable ${name}")
    return _VARIABLE.sub(sub, expr)


def dashboard_panels(dashboard):
    """Every panel, rows' nested panels included, rows themselves excluded."""
    out = []
    for panel in dashboard.get("panels") or []:
        if panel.get("type") == "row":
            out += panel.get("panels") or []
        else:
            out.append(panel)
    return out


def dashboard_queries(dashboard):
    """[(where, query)] of the panels' targets and the query variables, variables not yet
    expanded (expand_variables). `label_values(selector, label)` yields its selector."""
    out = []
    for panel in dashboard_panels(dashboard):
        for target in panel.get("targets") or []:
            where = f"panel {panel.get('id')} {panel.get('title')!r} query {target.get('refId')}"
            out.append((where, str(target.get("expr", ""))))
    for var in variable_list(dashboard):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else str(query or "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
        out.append((f"variable ${var.get('name')}", m.group(1) if m else query))
    return out


def variable_list(dashboard):
    return (dashboard.get("templating") or {}).get("list") or []


def expanded_queries(dashboard):
    """[(where, PromQL or PromqlError)]: dashboard_queries with the variables expanded."""
    names = {v.get("name") for v in variable_list(dashboard)}
    out = []
    for where, query in dashboard_queries(dashboard):
        try:
            out.append((where, expand_variables(query, names)))
        except PromqlError as e:
            out.append((where, e))
    return out


# --- the Prometheus text exposition format -------------------------------------------------

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+\S+")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """{name: [labels dict]} of every sample, and the families of `# TYPE` lines (a
    histogram's family also names its _bucket, _sum and _count series)."""
    series = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            series.setdefault(name, [])
            if kind in ("histogram", "summary"):
                for suffix in ("_sum", "_count") + (("_bucket",) if kind == "histogram" else ()):
                    series.setdefault(name + suffix, [])
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            labels = dict((k, v) for k, v in _LABEL.findall(m.group(2) or ""))
            series.setdefault(m.group(1), []).append(labels)
    return series


# --- Markdown ------------------------------------------------------------------------------

def markdown_anchors(text):
    """The anchors GitHub gives the headings of a Markdown document."""
    anchors, seen = set(), {}
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors
