"""The TURN wiring of the manifests (docs/DEPLOYMENT.md, "TURN"): coturn authenticates with
the REST scheme (use-auth-secret) on the very secret the server signs credentials with,
has a realm and a bounded relay port range, does not relay into private networks, and is
reachable as it is (hostNetwork, or a UDP LoadBalancer Service); a server given TURN_URLS
also gets a TURN_SECRET, or it refuses to start. Used by check_manifests.py.
"""
import re

COTURN_IMAGE = "coturn/coturn"
REQUIRED_FLAGS = ("--use-auth-secret", "--realm=", "--min-port=", "--max-port=",
                  "--denied-peer-ip=10.0.0.0-")


def _is_coturn(container):
    return str(container.get("image", "")).startswith(COTURN_IMAGE)


def coturn_workloads(docs):
    return [d for d in docs if d.get("kind") in ("Deployment", "DaemonSet", "StatefulSet")
            and any(_is_coturn(c) for c in d["spec"]["template"]["spec"].get("containers", []))]


def _flag_errors(where, args):
    errors = [f"{where}: coturn lacks {flag}" for flag in REQUIRED_FLAGS
              if not any(str(a).startswith(flag) for a in args)]
    secret = [str(a) for a in args if str(a).startswith("--static-auth-secret=")]
    if len(secret) != 1:
        errors.append(f"{where}: coturn has {len(secret)} --static-auth-secret flags, expected 1")
    return errors, (secret[0].split("=", 1)[1] if secret else "")


def _secret_ref(container, name):
    for entry in container.get("env") or []:
        if entry.get("name") == name:
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
            return (ref["name"], ref["key"]) if ref else ("<not from a Secret>", "")
    return None


def check_overlay_turn(overlay, docs, server_container, server_env_values):
    errors = []
    turn_urls = server_env_values.get("TURN_URLS", "")
    server_ref = _secret_ref(server_container, "TURN_SECRET")
    coturns = coturn_workloads(docs)
    if turn_urls and server_ref is None:
        errors.append(f"{overlay}: TURN_URLS set but the server gets no TURN_SECRET from a "
                      f"Secret: it would refuse to start")
    for w in coturns:
        where = f"{overlay}: {w['kind']} {w['metadata']['name']}"
        pod = w["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if _is_coturn(c))
        flag_errors, secret = _flag_errors(where, (container.get("command") or []) +
                                           (container.get("args") or []))
        errors += flag_errors
        m = re.fullmatch(r"\$\((\w+)\)", secret)
        ref = _secret_ref(container, m.group(1)) if m else None
        if ref is None:
            errors.append(f"{where}: --static-auth-secret is not $(VAR) of an env from a Secret")
        elif ref != server_ref:
            errors.append(f"{where}: coturn's secret {ref} is not the server's TURN_SECRET "
                          f"{server_ref}: credentials would be refused")
        if not turn_urls:
            errors.append(f"{where}: coturn runs but the server has no TURN_URLS")
        exposed = pod.get("hostNetwork") is True or any(
            s["spec"].get("type") == "LoadBalancer" and
            any(p.get("protocol") == "UDP" for p in s["spec"].get("ports") or []) and
            all(w["spec"]["template"]["metadata"]["labels"].get(k) == v
                for k, v in (s["spec"].get("selector") or {"": None}).items())
            for s in docs if s.get("kind") == "Service")
        if not exposed:
            errors.append(f"{where}: coturn is neither on hostNetwork nor behind a UDP "
                          f"LoadBalancer Service: clients cannot reach its relays")
    return errors


def check_compose_turn(compose):
    errors = []
    services = compose.get("services") or {}
    server_env = (services.get("server") or {}).get("environment") or {}
    for name, svc in services.items():
        if not _is_coturn(svc):
            continue
        where = f"compose: {name}"
        command = svc.get("command") or []
        command = command.split() if isinstance(command, str) else command
        flag_errors, secret = _flag_errors(where, command)
        errors += flag_errors
        if not re.fullmatch(r"\$\{TURN_SECRET(:?-[^}]*)?\}", secret):
            errors.append(f"{where}: --static-auth-secret is not ${{TURN_SECRET}}")
        if not re.fullmatch(r"\$\{TURN_SECRET(:?-[^}]*)?\}", str(server_env.get("TURN_SECRET"))):
            errors.append(f"{where}: the server's TURN_SECRET is not ${{TURN_SECRET}}: "
                          f"coturn and the servers would not share one secret")
        if "TURN_URLS" not in server_env:
            errors.append(f"{where}: the server gets no TURN_URLS")
    return errors


def _coturn_container(docs):
    w = coturn_workloads(docs)[0]
    return next(c for c in w["spec"]["template"]["spec"]["containers"] if _is_coturn(c))


def _drop_arg(container, prefix):
    container["args"] = [a for a in container["args"] if not str(a).startswith(prefix)]


def _compose_drop(compose, prefix):
    svc = compose["services"]["turn"]
    svc["command"] = [a for a in svc["command"] if not str(a).startswith(prefix)]


# (what, mutate, expected error): each must be caught (check_manifests.py --self-test).
K8S_MUTATIONS = [
    ("coturn without REST authentication",
     lambda d: _drop_arg(_coturn_container(d), "--use-auth-secret"), "--use-auth-secret"),
    ("coturn relaying into private networks",
     lambda d: _drop_arg(_coturn_container(d), "--denied-peer-ip=10."), "--denied-peer-ip"),
    ("coturn on another secret than the server's",
     lambda d: _coturn_container(d)["env"][0]["valueFrom"]["secretKeyRef"].update(key="OTHER"),
     "not the server's TURN_SECRET"),
    ("coturn unreachable",
     lambda d: coturn_workloads(d)[0]["spec"]["template"]["spec"].pop("hostNetwork"),
     "neither on hostNetwork"),
]
COMPOSE_MUTATIONS = [
    ("coturn without REST authentication",
     lambda c: _compose_drop(c, "--use-auth-secret"), "--use-auth-secret"),
    ("coturn with a secret of its own",
     lambda c: c["services"]["turn"]["command"].append("--static-auth-secret=abc"),
     "static-auth-secret"),
    ("servers without the shared secret",
     lambda c: c["services"]["server"]["environment"].pop("TURN_SECRET"), "share one secret"),
]
