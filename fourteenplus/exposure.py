"""What of Asterisk can be reached from beyond this machine: `fourteenplus check` reads the
Asterisk configuration and warns, with file and line, about every open door.

A 14+ front door holds trunks that cost money per minute; toll fraud starts at an ARI or AMI
port on a public address, an anonymous SIP endpoint, or a caller's context that can dial.
Our shipped files close all of those (loopback binds, identification by address, callers in
[fourteenplus-in]); an operator's host configuration may not.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

# Contexts that dial trunks without asking who: a caller placed in one can ring anywhere.
DIALLING_CONTEXTS = re.compile(r"^fourteenplus-(dial|to-.+|trunk-headers)$")
WEAK_SECRET_CHARS = 16


@dataclass
class Option:
    key: str
    value: str
    file: Path
    line: int

    def warning(self, message: str) -> ConfigError:
        return ConfigError(message, str(self.file), self.line)


@dataclass
class Section:
    name: str
    file: Path
    line: int
    is_template: bool = False
    templates: tuple[str, ...] = ()
    options: list[Option] = field(default_factory=list)

    def get(self, key: str) -> Option | None:
        """The last value of `key`, as Asterisk reads it (a later line wins)."""
        found = [o for o in self.options if o.key == key]
        return found[-1] if found else None

    def all(self, key: str) -> list[Option]:
        return [o for o in self.options if o.key == key]


_HEADER = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?")


def read_conf(path: Path, _seen: frozenset[Path] = frozenset()) -> list[Section]:
    """The sections of an Asterisk .conf file, `#include`s followed (relative to its directory).

    Template options are merged into the sections built from them, so every section shows
    what Asterisk would apply. A missing file reads as empty: Asterisk does the same."""
    path = path.resolve()
    if path in _seen or not path.is_file():
        return []
    sections: list[Section] = []
    current: Section | None = None
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        if line.startswith(("#include", "#tryinclude")):
            target = line.split(None, 1)[1].strip().strip('"<>') if " " in line else ""
            for included in sorted(path.parent.glob(target)) if target else ():
                sections += read_conf(included, _seen | {path})
            current = sections[-1] if sections else current
            continue
        header = _HEADER.match(line)
        if header:
            flags = [f.strip() for f in (header.group(2) or "").split(",") if f.strip()]
            current = Section(header.group(1).strip(), path, number, "!" in flags,
                              tuple(f for f in flags if f not in ("!", "+")))
            if "+" in flags:  # [name](+) adds to an earlier section of that name
                earlier = next((s for s in reversed(sections) if s.name == current.name), None)
                if earlier:
                    current = earlier
                    continue
            sections.append(current)
            continue
        key, sep, value = line.partition("=")
        if sep and current is not None:
            current.options.append(Option(key.strip().lower(), value.lstrip(">").strip(), path, number))
    return _inherit(sections)


def _inherit(sections: list[Section]) -> list[Section]:
    by_name = {s.name: s for s in sections if s.is_template}
    for section in sections:
        inherited: list[Option] = []
        for name in section.templates:
            template = by_name.get(name)
            if template is not None and template is not section:
                inherited += template.options
        section.options = inherited + section.options
    return [s for s in sections if not s.is_template]


def _wide(address: str) -> bool:
    """True unless the address (host[:port]) is a loopback address."""
    host = address.strip()
    if host.startswith("["):
        host = host[1:host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    if host in ("localhost", ""):
        return host == ""
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: whatever it resolves to, it is not plainly loopback


def _network_wide(acl: str) -> bool:
    try:
        network = ipaddress.ip_network(acl.strip(), strict=False)
    except ValueError:
        return True
    # only IPv4 has a loopback network; an IPv6 ACL is taken as wide
    return not (isinstance(network, ipaddress.IPv4Network) and network.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")))


def _huge(acl: str) -> bool:
    """A match range wider than a /16 (IPv4) or /32 (IPv6): no carrier needs that many."""
    try:
        network = ipaddress.ip_network(acl, strict=False)
    except ValueError:
        return False  # a host name or a single address
    return network.prefixlen < (16 if network.version == 4 else 32)


def _yes(option: Option | None, default: bool = False) -> bool:
    return default if option is None else option.value.lower() in ("yes", "true", "on", "1")


def _enabled(section: Section | None, default: bool = False) -> bool:
    return _yes(section.get("enabled") if section else None, default)


def _general(sections: list[Section]) -> Section | None:
    return next((s for s in sections if s.name == "general"), None)


def audit(etc: Path) -> list[ConfigError]:
    """Every reachable door in the Asterisk configuration under `etc`, as warnings."""
    return [*_http(etc), *_manager(etc), *_ari(etc), *_pjsip(etc)]


def _http(etc: Path) -> list[ConfigError]:
    general = _general(read_conf(etc / "http.conf"))
    if general is None or not _enabled(general):
        return []
    out = []
    bind = general.get("bindaddr")
    if bind is None:
        out.append(ConfigError("the HTTP server (ARI) is enabled without bindaddr; "
                               "set bindaddr=127.0.0.1", str(general.file), general.line))
    elif _wide(bind.value):
        out.append(bind.warning(f"the HTTP server (ARI) listens on {bind.value}, beyond loopback; "
                                "anyone who reaches it can try ARI passwords"))
    tls_bind = general.get("tlsbindaddr")
    if _yes(general.get("tlsenable")) and tls_bind and _wide(tls_bind.value):
        out.append(tls_bind.warning(f"HTTPS (ARI) listens on {tls_bind.value}, beyond loopback"))
    return out


def _manager(etc: Path) -> list[ConfigError]:
    sections = read_conf(etc / "manager.conf")
    general = _general(sections)
    if general is None or not _enabled(general):
        return []
    out = []
    bind = general.get("bindaddr")
    if bind is None:  # Asterisk's default is every address
        out.append(ConfigError("AMI is enabled without bindaddr, so it listens on every address; "
                               "set bindaddr=127.0.0.1", str(general.file), general.line))
    elif _wide(bind.value):
        out.append(bind.warning(f"AMI listens on {bind.value}, beyond loopback"))
    for user in (s for s in sections if s.name != "general"):
        out += _weak_secret(user, "secret", f"AMI user {user.name}")
        for permit in user.all("permit"):
            if _network_wide(permit.value):  # ip_network reads address/netmask too
                out.append(permit.warning(f"AMI user {user.name} may log in from {permit.value}"))
    return out


def _ari(etc: Path) -> list[ConfigError]:
    sections = read_conf(etc / "ari.conf")
    general = _general(sections)
    if general is not None and not _enabled(general, default=True):
        return []
    out = []
    origins = general.get("allowed_origins") if general else None
    if origins and "*" in origins.value:
        out.append(origins.warning("ARI accepts websockets from any web origin (allowed_origins=*)"))
    for user in (s for s in sections if s.name != "general"):
        out += _weak_secret(user, "password", f"ARI user {user.name}")
    return out


def _weak_secret(user: Section, key: str, who: str) -> list[ConfigError]:
    secret = user.get(key)
    if secret is None:
        return [ConfigError(f"{who} has no {key}", str(user.file), user.line)]
    if len(secret.value) < WEAK_SECRET_CHARS:
        return [secret.warning(f"{who} has a {key} of {len(secret.value)} characters; "
                               f"use at least {WEAK_SECRET_CHARS} random ones (`fourteenplus asterisk install` "
                               "generates them)")]
    return []


def _pjsip(etc: Path) -> list[ConfigError]:
    sections = read_conf(etc / "pjsip.conf")
    out = []
    for section in sections:
        declared = section.get("type")
        kind = declared.value.lower() if declared else ""
        if kind == "transport":
            bind = section.get("bind")
            if bind is None or _wide(bind.value):
                where = bind or Option("bind", "", section.file, section.line)
                out.append(where.warning(f"SIP transport {section.name} listens on "
                                         f"{bind.value if bind else 'every address'}, beyond loopback; "
                                         "make sure only your carrier's addresses are identified"))
        elif kind == "endpoint":
            if section.name == "anonymous":
                out.append(ConfigError("an endpoint named anonymous takes calls from anyone who is not "
                                       "identified (guest calls)", str(section.file), section.line))
            context = section.get("context")
            if context and DIALLING_CONTEXTS.match(context.value):
                out.append(context.warning(f"endpoint {section.name} puts callers straight into "
                                           f"[{context.value}], which dials trunks: use [fourteenplus-in]"))
        elif kind == "identify":
            for match in section.all("match"):
                for acl in filter(None, (a.strip() for a in match.value.split(","))):
                    if _huge(acl):
                        out.append(match.warning(f"identify {section.name} matches {acl}: a whole "
                                                 "internet range is taken for that endpoint"))
        elif kind == "global":
            order = section.get("endpoint_identifier_order")
            if order and "anonymous" in order.value:
                out.append(order.warning("endpoint_identifier_order includes anonymous (guest calls)"))
    return out
