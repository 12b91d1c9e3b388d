#!/usr/bin/env python3
"""Reads `docker-compose config` output for scripts/e2e.sh, which has no container engine to run it with.

  e2e_compose.py CONFIG static DOCKERFILE
      Consistency of docker-compose.yml, the Dockerfile and the workspace; one PASS/FAIL line per check.
  e2e_compose.py CONFIG databases
      The PostgreSQL databases the services' DATABASE__URL values name, one a line.
  e2e_compose.py CONFIG env SERVICE --port SERVICE=PORT... [--rename DB=NEW...] [--sqlite DIR]
      SERVICE's environment, rewritten to run the binary on this machine: compose hosts (and the services'
      fixed addresses among the trusted proxies) become 127.0.0.1, the services' ports become the given ones,
      databases are renamed (or become SQLite files in DIR).
  e2e_compose.py CONFIG health SERVICE
      The path of the URL SERVICE's healthcheck probes.
"""
import argparse
import ipaddress
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

APP_SERVICES = ("auth-server", "resource-server")
PG_PORT = "5432"
# What sits between the users and the auth servers (scale-out profile included): the auth servers trust
# exactly these services' X-Forwarded-For, by their fixed addresses on the compose network.
PROXY_SERVICES = ("resource-server", "resource-server-2", "auth-lb")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):  # compose also allows ["KEY=VALUE", ...]
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def container_port(service):
    return str(service["ports"][0]["target"]) if isinstance(service["ports"][0], dict) else \
        str(service["ports"][0]).rsplit(":", 1)[-1]


def published_port(service):
    return str(service["ports"][0]["published"]) if isinstance(service["ports"][0], dict) else \
        str(service["ports"][0]).split(":")[0]


def health_url(service):
    test = service["healthcheck"]["test"]
    text = " ".join(test) if isinstance(test, list) else test
    match = re.search(r"https?://[^\s\"']+", text)
    return match.group(0) if match else None


def fixed_address(service):
    """The service's ipv4_address on the default network, or None."""
    networks = service.get("networks") or {}
    return ((networks.get("default") or {}) if isinstance(networks, dict) else {}).get("ipv4_address")


def split_list(value):
    """A comma-separated setting as a list (how the servers read HTTP__TRUSTED_PROXIES)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def postgres_databases(compose):
    names = []
    for name in APP_SERVICES:
        for key, value in environment(compose["services"][name]).items():
            if key.endswith("__DATABASE__URL") and value.startswith(("postgres://", "postgresql://")):
                names.append(urlsplit(value).path.lstrip("/"))
    return names


# ---- static checks ------------------------------------------------------------------------------------------
def static(compose, dockerfile_path):
    results = []

    def check(label, ok, detail=""):
        results.append(ok)
        print(("PASS " if ok else "FAIL ") + label + ("" if ok or not detail else f": {detail}"))

    services = compose.get("services", {})
    check("compose defines db, auth-server and resource-server",
          all(s in services for s in ("db",) + APP_SERVICES), sorted(services))
    if not all(s in services for s in ("db",) + APP_SERVICES):
        return False

    dockerfile = Path(dockerfile_path).read_text()
    stages = re.split(r"(?m)^FROM\s+", dockerfile)[1:]
    builder, runtime = stages[0], stages[-1]
    copied = set()
    for line in re.findall(r"(?m)^COPY --from=builder\s+(.+)$", runtime):
        copied.update(Path(p).name for p in line.split()[:-1])
    built = [set(re.findall(r"--bin\s+(\S+)", line)) for line in re.findall(r"cargo build[^\n]*", builder)]

    workspace = tomllib.loads(Path("Cargo.toml").read_text())["workspace"]["members"]
    check("Dockerfile's dependency layer copies every workspace member's Cargo.toml",
          all(re.search(rf"(?m)^COPY {re.escape(m)}/Cargo.toml ", dockerfile) for m in workspace), workspace)
    check("runtime image is debian:bookworm-slim and the builder rust:1-bookworm",
          runtime.startswith("debian:bookworm-slim") and builder.startswith("rust:1-bookworm"))
    check("runtime image runs as a non-root user", bool(re.search(r"(?m)^USER\s+(?!root\b|0\b)\S+", runtime)))
    check("runtime image has a HEALTHCHECK and WORKDIR /app",
          "HEALTHCHECK" in runtime and re.search(r"(?m)^WORKDIR /app\s*$", runtime) is not None)
    exposed = set(re.findall(r"\d+", " ".join(re.findall(r"(?m)^EXPOSE\s+(.+)$", runtime))))

    for name in APP_SERVICES:
        service, env = services[name], environment(services[name])
        prefix = name.upper().replace("-", "_") + "__"
        binary = (service.get("command") or ["auth-server"])[0]
        check(f"{name}: its command {binary!r} is built by every cargo build and copied to /usr/local/bin",
              bool(built) and all(binary in b for b in built) and binary in copied, f"built {built}, copied {copied}")
        port = container_port(service)
        check(f"{name}: listens on 0.0.0.0:{port}, the port it publishes and the Dockerfile EXPOSEs",
              env.get(prefix + "HTTP__HOST") == "0.0.0.0" and env.get(prefix + "HTTP__PORT") == port
              and port in exposed, f"env {env.get(prefix + 'HTTP__HOST')}:{env.get(prefix + 'HTTP__PORT')}, "
                                   f"exposed {exposed}")
        url = health_url(service) or ""
        check(f"{name}: healthcheck probes its own port's /health/ready",
              urlsplit(url).port == int(port) and urlsplit(url).path.rstrip("/") == "/health/ready", url)
        check(f"{name}: every setting given as an environment variable", bool(env) and "env_file" not in service)

    def waits_for(name, dep):
        return (services[name].get("depends_on") or {}).get(dep, {}).get("condition") == "service_healthy"

    check("db has a pg_isready healthcheck", "pg_isready" in str(services["db"].get("healthcheck", {}).get("test")))
    check("auth-server waits for a healthy db", waits_for("auth-server", "db"))
    check("resource-server waits for a healthy auth-server", waits_for("resource-server", "auth-server"))

    # Each database a URL names exists on first start: POSTGRES_DB, or CREATE DATABASE in an init script.
    db_env = environment(services["db"])
    created = {db_env.get("POSTGRES_DB", db_env.get("POSTGRES_USER", "postgres"))}
    for volume in services["db"].get("volumes", []):
        source, target = (volume["source"], volume["target"]) if isinstance(volume, dict) else volume.split(":")[:2]
        if target == "/docker-entrypoint-initdb.d" and Path(source).is_dir():
            for script in Path(source).iterdir():
                created.update(re.findall(r"(?i)CREATE DATABASE\s+\"?(\w+)", script.read_text()))
    needed = postgres_databases(compose)
    check("every database in a DATABASE__URL is created by the db service", set(needed) <= created,
          f"needed {needed}, created {sorted(created)}")
    password = db_env.get("POSTGRES_PASSWORD", "")
    for name in APP_SERVICES:
        for key, value in environment(services[name]).items():
            if key.endswith("__DATABASE__URL"):
                url = urlsplit(value)
                check(f"{name}: {key} points at db:5432 with the db service's credentials",
                      url.hostname == "db" and url.port == 5432 and url.password == password
                      and url.username == db_env.get("POSTGRES_USER", "postgres"), value)

    auth, rs = environment(services["auth-server"]), environment(services["resource-server"])
    base = urlsplit(rs.get("RESOURCE_SERVER__AUTH__BASE_URL", ""))
    check("resource-server reaches auth-server by service name and container port",
          base.hostname == "auth-server" and str(base.port) == container_port(services["auth-server"]), base.geturl())
    check("resource-server sets its client id and secret itself (it has no built-in default)",
          bool(rs.get("RESOURCE_SERVER__AUTH__CLIENT_ID")) and bool(rs.get("RESOURCE_SERVER__AUTH__CLIENT_SECRET")))

    # The auth servers trust exactly the proxies in front of them, each at a fixed address inside the
    # network's subnet and outside its ip_range (where the other containers get theirs).
    proxies = {name: fixed_address(services[name]) for name in PROXY_SERVICES if name in services}
    for name in [n for n in services if n.startswith("auth-server")]:
        trusted = split_list(environment(services[name]).get("AUTH_SERVER__HTTP__TRUSTED_PROXIES", ""))
        check(f"{name}: HTTP__TRUSTED_PROXIES is exactly the fixed addresses of {', '.join(proxies)}",
              all(proxies.values()) and sorted(trusted) == sorted(proxies.values()),
              f"trusted {trusted}, fixed {proxies}")
    pools = ((compose.get("networks") or {}).get("default") or {}).get("ipam", {}).get("config", [])
    subnet = [ipaddress.ip_network(c["subnet"]) for c in pools if c.get("subnet")]
    ranges = [ipaddress.ip_network(c["ip_range"]) for c in pools if c.get("ip_range")]
    addresses = [ipaddress.ip_address(a) for a in proxies.values() if a]
    check("the default network has a fixed subnet holding those addresses, outside its ip_range",
          len(subnet) == 1 and len(ranges) == 1 and all(a in subnet[0] and a not in ranges[0] for a in addresses),
          f"ipam {pools}, addresses {proxies}")

    clients = {}
    for key, value in auth.items():
        match = re.fullmatch(r"AUTH_SERVER__CLIENTS__([^_]+(?:_[^_]+)*)__(\w+)", key)
        if match:
            clients.setdefault(match.group(1), {})[match.group(2)] = value
    matching = [c for c in clients.values() if c.get("CLIENT_ID") == rs.get("RESOURCE_SERVER__AUTH__CLIENT_ID")
                and c.get("CLIENT_SECRET") == rs.get("RESOURCE_SERVER__AUTH__CLIENT_SECRET")]
    check("resource-server's client is bootstrapped by auth-server",
          len(matching) == 1, f"clients {list(clients)}")
    if matching:
        client = matching[0]
        check("that client has the tutorial's grants and scopes",
              {"password", "refresh_token", "client_credentials"} <= set(re.split(r"[, ]+", client.get("GRANT_TYPES", "")))
              and {"read", "write", "introspection"} <= set(re.split(r"[, ]+", client.get("SCOPES", ""))), client)
    return all(results)


# ---- environment for a local run -----------------------------------------------------------------------------
def local_env(compose, name, ports, renames, sqlite_dir):
    services = compose["services"]
    # host:port as written in compose (service name and container port, or localhost and published port)
    # -> 127.0.0.1 and the port this run uses.
    hosts = {("db", PG_PORT): ("127.0.0.1", PG_PORT)}
    for service, port in ports.items():
        hosts[(service, container_port(services[service]))] = ("127.0.0.1", port)
        hosts[("localhost", published_port(services[service]))] = ("127.0.0.1", port)
    own_port = ports[name]
    prefix = name.upper().replace("-", "_") + "__"
    # The services' fixed compose addresses are 127.0.0.1 here, like their host names.
    fixed = {fixed_address(s) for s in services.values()} - {None}

    out = {}
    for key, value in environment(services[name]).items():
        if key == prefix + "HTTP__HOST":
            value = "127.0.0.1"  # loopback only on a CI machine
        elif key == prefix + "HTTP__PORT":
            value = own_port
        elif key == prefix + "METRICS__LISTEN":
            value = "127.0.0.1:0"  # the private metrics port: loopback, any free one (instances share this machine)
        elif key == prefix + "HTTP__TRUSTED_PROXIES":
            value = ",".join(dict.fromkeys("127.0.0.1" if p in fixed else p for p in split_list(value)))
        elif "://" in value:
            url = urlsplit(value)
            target = hosts.get((url.hostname, str(url.port)))
            if url.scheme.startswith("postgres"):
                db = url.path.lstrip("/")
                if sqlite_dir:
                    out[key] = f"sqlite://{Path(sqlite_dir).resolve()}/{db}.sqlite3"
                    continue
                url = url._replace(path="/" + renames.get(db, db))
            if not target and (url.hostname in services or url.hostname == "localhost"):
                # Left alone it would be looked up or reached off this machine: refuse instead.
                sys.exit(f"{name}: {key}={value}: no compose service answers on {url.hostname}:{url.port}")
            if target:
                userinfo = url.netloc.rpartition("@")[0]
                url = url._replace(netloc=(userinfo + "@" if userinfo else "") + ":".join(target))
            value = urlunsplit(url)
        out[key] = value
    for key, value in sorted(out.items()):
        print(f"{key}={value}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("static").add_argument("dockerfile")
    sub.add_parser("databases")
    health = sub.add_parser("health")
    health.add_argument("service")
    env = sub.add_parser("env")
    env.add_argument("service")
    env.add_argument("--port", action="append", default=[], metavar="SERVICE=PORT")
    env.add_argument("--rename", action="append", default=[], metavar="DB=NEW")
    env.add_argument("--sqlite", metavar="DIR")
    args = parser.parse_args()

    compose = load(args.config)
    if args.command == "static":
        sys.exit(0 if static(compose, args.dockerfile) else 1)
    elif args.command == "databases":
        print("\n".join(postgres_databases(compose)))
    elif args.command == "health":
        print(urlsplit(health_url(compose["services"][args.service])).path)
    else:
        local_env(compose, args.service, dict(p.split("=", 1) for p in args.port),
                  dict(r.split("=", 1) for r in args.rename), args.sqlite)


if __name__ == "__main__":
    main()
