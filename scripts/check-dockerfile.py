#!/usr/bin/env python3
"""Checks the Dockerfile (no Docker engine needed) for the rules of docs/DEPLOYMENT.md:
multi-stage from Debian bookworm, the builder installing scripts/install-deps.sh's build
packages, a bookworm-slim runtime with the runtime libraries of what the binary links and
no build tools, a non-root numeric USER, HEALTHCHECK on /health, STOPSIGNAL SIGTERM,
EXPOSE of the server's PORT, DATA_DIR on a volume owned by the user, a .dockerignore.

  scripts/check-dockerfile.py [--source-dir DIR] [--server BUILD/tandem-server]
                              [--run-healthcheck]

With --server, also: ENV names against `tandem-server --config-schema`, EXPOSE against
PORT's default, and the runtime packages against the libraries the binary needs
(readelf -d, ldd, dpkg -S). With --run-healthcheck, the HEALTHCHECK command itself is run
against that binary: it must pass while the server answers and fail when nothing listens.
"""
import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

# In debian:bookworm-slim already (apt itself needs them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
# Runtimes of a sanitizer build (the CI's test build); a Release build does not link them.
SANITIZER_PACKAGES = {"libasan8", "libubsan1", "liblsan0", "libtsan2"}


def instructions(text):
    """(instruction, arguments) per Dockerfile instruction, continuations joined."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages(instrs):
    """[(from_arguments, [instructions of the stage])]."""
    result = []
    for word, rest in instrs:
        if word == "FROM":
            result.append((rest, []))
        elif result:
            result[-1][1].append((word, rest))
    return result


def apt_packages(stage_instrs):
    pkgs = set()
    for word, rest in stage_instrs:
        if word != "RUN":
            continue
        for m in re.finditer(r"apt-get install((?:\s+[^&|;]+)+)", rest):
            pkgs |= {t for t in m.group(1).split() if not t.startswith("-")}
    return pkgs


def install_deps_packages(source_dir):
    """The build-and-run packages of scripts/install-deps.sh (its first array)."""
    with open(os.path.join(source_dir, "scripts", "install-deps.sh"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^packages=\(([^)]*)\)", text, re.M)
    if not m:
        raise ValueError("scripts/install-deps.sh has no packages=( ... ) list")
    body = "\n".join(line.split("#", 1)[0] for line in m.group(1).splitlines())
    return set(body.split())


def needed_packages(binary):
    """Debian packages providing the shared libraries the binary links directly."""
    dynamic = subprocess.run(["readelf", "-d", binary], check=True, capture_output=True,
                             text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    ldd = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    resolved = {}
    for lib in needed:
        path = paths.get(lib)
        if path is None:
            raise ValueError(f"ldd does not resolve {lib}")
        resolved[lib] = [path, os.path.realpath(path)]
    # One dpkg call for every path (a call each took seconds): "pkg[:arch]: path" per owned
    # path; unowned paths go to stderr.
    listed = subprocess.run(["dpkg", "-S"] + sorted({c for cs in resolved.values() for c in cs}),
                            capture_output=True, text=True).stdout
    owners = {}
    for line in listed.splitlines():
        owner, sep, owned = line.partition(": ")
        if sep:
            owners[owned.strip()] = owner.split(":", 1)[0].strip()
    packages = {}
    for lib, candidates in resolved.items():
        owner = next((owners[c] for c in candidates if c in owners), None)
        if owner is None:
            raise ValueError(f"no Debian package owns {candidates[0]} ({lib})")
        packages[lib] = owner
    return packages


def check(source_dir, server):
    errors = []
    dockerfile = os.path.join(source_dir, "Dockerfile")
    with open(dockerfile, encoding="utf-8") as f:
        instrs = instructions(f.read())
    all_stages = stages(instrs)
    if len(all_stages) < 2:
        errors.append(f"not a multi-stage build ({len(all_stages)} stage)")
        return errors, None
    for from_args, _ in all_stages:
        image = from_args.split()[0]
        if not re.fullmatch(r"debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?", image):
            errors.append(f"FROM {image}: stages must be Debian bookworm")
    final_from, final = all_stages[-1]
    if not final_from.split()[0].startswith("debian:bookworm-slim"):
        errors.append(f"the runtime stage is {final_from.split()[0]}, not debian:bookworm-slim")

    # Builder: the packages of install-deps.sh, a Release build of the server alone.
    build_pkgs = set().union(*(apt_packages(s) for _, s in all_stages[:-1]))
    missing = install_deps_packages(source_dir) - build_pkgs
    if missing:
        errors.append(f"the build stage lacks install-deps.sh packages: {sorted(missing)}")
    build_runs = " ".join(r for _, s in all_stages[:-1] for w, r in s if w == "RUN")
    for flag in ("-DCMAKE_BUILD_TYPE=Release", "-DTANDEM_BUILD_TESTS=OFF",
                 "-DTANDEM_BUILD_BENCH=OFF"):
        if flag not in build_runs:
            errors.append(f"the build stage does not configure with {flag}")

    # Runtime: libraries only.
    runtime_pkgs = apt_packages(final)
    for p in sorted(runtime_pkgs):
        if p.endswith("-dev") or p in ("g++", "gcc", "cmake", "ninja-build", "pkg-config"):
            errors.append(f"the runtime stage installs build package {p}")
    if not any(w == "COPY" and "--from=" in r for w, r in final):
        errors.append("the runtime stage copies nothing from the build stage")

    # The user: numeric, not root, the last USER of the image.
    users = [r for w, r in final if w == "USER"]
    uid = None
    if not users:
        errors.append("no USER: the server would run as root")
    else:
        user = users[-1].split(":")[0]
        if not user.isdigit():
            errors.append(f"USER {users[-1]} is not numeric (Kubernetes runAsNonRoot cannot "
                          f"verify a name)")
        elif int(user) == 0:
            errors.append("USER 0 is root")
        else:
            uid = int(user)

    # ENV: DATA_DIR on a volume the user owns.
    env = {}
    for w, r in final:
        if w == "ENV":
            for token in shlex.split(r):
                if "=" in token:
                    k, v = token.split("=", 1)
                    env[k] = v
    data_dir = env.get("DATA_DIR")
    volumes = []
    for w, r in final:
        if w == "VOLUME":
            volumes += json.loads(r) if r.startswith("[") else r.split()
    if not data_dir:
        errors.append("no ENV DATA_DIR (the default ./data depends on the working directory)")
    elif data_dir.rstrip("/") not in [v.rstrip("/") for v in volumes]:
        errors.append(f"DATA_DIR {data_dir} is not a VOLUME")
    elif uid is not None and not any(
            w == "RUN" and re.search(rf"chown\s+(-R\s+)?{uid}(:\d+)?\s+{re.escape(data_dir)}\b", r)
            for w, r in final):
        errors.append(f"DATA_DIR {data_dir} is not chowned to uid {uid}")

    stop = [r for w, r in final if w == "STOPSIGNAL"]
    if stop != ["SIGTERM"]:
        errors.append(f"STOPSIGNAL is {stop}, not SIGTERM (the server drains on SIGTERM)")
    exposed = [p.split("/")[0] for w, r in final if w == "EXPOSE" for p in r.split()]
    health = [r for w, r in final if w == "HEALTHCHECK"]
    if len(health) != 1 or "CMD" not in health[0].split() or "/health" not in health[0]:
        errors.append(f"HEALTHCHECK must be one CMD on /health, is {health}")
    entry = [r for w, r in final if w in ("ENTRYPOINT", "CMD")]
    if not entry or not entry[-1].startswith("["):
        errors.append("ENTRYPOINT must be exec form, so that the server is PID 1 and gets SIGTERM")

    if not os.path.isfile(os.path.join(source_dir, ".dockerignore")):
        errors.append("no .dockerignore")
    else:
        with open(os.path.join(source_dir, ".dockerignore"), encoding="utf-8") as f:
            ignored = {line.strip().rstrip("/") for line in f if line.strip()
                       and not line.startswith("#")}
        for needed in (".git", "build*"):
            if needed not in ignored:
                errors.append(f".dockerignore does not exclude {needed}")

    if server:
        schema_out = subprocess.run([server, "--config-schema"], check=True, capture_output=True,
                                    text=True).stdout
        schema = {o["env"]: o["default"] for o in json.loads(schema_out)}
        for k in env:
            if k not in schema:
                errors.append(f"ENV {k} is not an option of tandem-server (--config-schema)")
        port = env.get("PORT", schema["PORT"])
        if exposed != [port]:
            errors.append(f"EXPOSE {exposed}, but the server listens on PORT {port}")
        for lib, pkg in sorted(needed_packages(server).items()):
            if pkg in BASE_IMAGE_PACKAGES or pkg in SANITIZER_PACKAGES:
                continue
            if pkg not in runtime_pkgs:
                errors.append(f"the binary needs {lib} ({pkg}), which the runtime stage does "
                              f"not install")
    elif exposed != ["4001"]:
        errors.append(f"EXPOSE {exposed}, expected 4001")
    return errors, health[0] if len(health) == 1 else None


def healthcheck_command(health):
    """The HEALTHCHECK's command as an argv."""
    cmd = health.split("CMD", 1)[1].strip()
    return json.loads(cmd) if cmd.startswith("[") else ["/bin/sh", "-c", cmd]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_healthcheck(server, health):
    """The HEALTHCHECK command must pass against a running server and fail with none."""
    errors = []
    argv = healthcheck_command(health)
    with tempfile.TemporaryDirectory(prefix="tandem-healthcheck-") as data_dir:
        env = dict(os.environ, PORT="0", HOST="127.0.0.1", DATA_DIR=data_dir,
                   LOG_LEVEL="info")
        proc = subprocess.Popen([server], env=env, stdout=subprocess.PIPE, text=True)
        try:
            port, deadline = None, time.monotonic() + 60
            while port is None and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                if '"msg":"listening"' in line:
                    port = json.loads(line)["port"]
            if port is None:
                return ["the server did not start (no `listening` line)"]
            ok = subprocess.run(argv, env=dict(os.environ, PORT=str(port)), timeout=10)
            if ok.returncode != 0:
                errors.append(f"the HEALTHCHECK failed (status {ok.returncode}) against a "
                              f"running server on port {port}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    down = subprocess.run(argv, env=dict(os.environ, PORT=str(free_port())),
                          stderr=subprocess.DEVNULL, timeout=10)
    if down.returncode == 0:
        errors.append("the HEALTHCHECK passed with nothing listening")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source-dir", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--server", help="the tandem-server binary")
    parser.add_argument("--run-healthcheck", action="store_true")
    args = parser.parse_args()
    try:
        errors, health = check(args.source_dir, args.server)
        if args.run_healthcheck:
            if not args.server:
                parser.error("--run-healthcheck needs --server")
            if health is None:
                errors.append("no HEALTHCHECK to run")
            else:
                errors += run_healthcheck(args.server, health)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for e in errors:
        print(f"FAIL Dockerfile: {e}", file=sys.stderr)
    if not errors:
        print("Dockerfile: ok" + (" (healthcheck run)" if args.run_healthcheck else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
