"""The bundled Asterisk 22: build the root, install our configuration, start and stop it.

Debian 12 ships no Asterisk, but Debian unstable ships 22.x, so we debootstrap a minimal
unstable root into the cache (`paths.asterisk_root()`) and run Asterisk chrooted into it.
The root is built into a temporary directory and renamed when complete, so a half-built
root is never mistaken for a usable one.

Inside the root Debian gives the asterisk user the next free system id, which on the host
is usually another service's (PostgreSQL's, say): a compromised Asterisk could signal or
trace it. So the root's asterisk user and group take the ids of a host account of their own,
`fourteenplus-asterisk` (`own_account`: made by `build`, `install` and `start`, which also fix
up a root built before).

`install` puts our configuration into the root's astetcdir (`asterisk_layout`): the files in `data/asterisk/` and
`data/dialplan/`, the credentials and the dialplan generated from the operator's YAML (what an
Asterisk in production needs; `asterisk_config`), and the prompts. With `host=True` it
writes only our own files into an existing Asterisk (root "/"), where its asterisk.conf
says, and the `#include` lines that make it read them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import asterisk_layout, paths, prompts, resources
from .asterisk_config import ARI_URL, AsteriskError, ari_login, credential_files, credentials, render_dialplan
from .config import AsteriskSettings, Service

CONF_DIRS = (resources.ASTERISK_CONF, resources.DIALPLAN)
# Our own files: the only ones written into an operator's existing Asterisk.
OWN_FILES = ("fourteenplus.conf", "fourteenplus-generated.conf",
             "fourteenplus-ari-users.conf", "fourteenplus-manager-users.conf")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
HOST_ACCOUNT = "fourteenplus-asterisk"  # the host's system user and group the bundled Asterisk runs as
_APT_SOURCES = Path("/etc/apt")


# ---- the root ----

def debian_mirror(apt_dir: Path = _APT_SOURCES) -> str:
    """The Debian mirror apt already uses here (deb822 `URIs:` or one-line `deb URL`), not the security one."""
    files = sorted((apt_dir / "sources.list.d").glob("*")) + [apt_dir / "sources.list"]
    for file in files:
        try:
            text = file.read_text()
        except OSError:
            continue
        for url in re.findall(r"^\s*(?:URIs:|deb(?:\s+\[[^\]]*\])?)\s+(https?://\S+)", text, re.MULTILINE):
            if "security" not in url:
                return url.rstrip("/")
    return DEFAULT_MIRROR


def build(root: Path | None = None, mirror: str | None = None, log=print) -> Path:
    """Return a complete root, debootstrapping it first when there is none (once per machine)."""
    root = root or paths.asterisk_root()
    if (root / "usr/sbin/asterisk").exists():
        return root
    if os.geteuid() != 0:
        raise AsteriskError("building the Asterisk root needs root (debootstrap); run as root or via sudo")
    if not shutil.which("debootstrap"):
        raise AsteriskError("debootstrap is missing: apt-get install debootstrap")
    mirror = mirror or debian_mirror()
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = root.with_name(f"{root.name}.partial-{os.getpid()}")
    log(f"building the Asterisk root in {root} from {mirror} (about a minute)")
    try:
        subprocess.run(["debootstrap", "--variant=minbase", "--include=asterisk,asterisk-modules",
                        "sid", str(partial), mirror], check=True, stdout=subprocess.DEVNULL)
        if not (partial / "usr/sbin/asterisk").exists():
            raise AsteriskError(f"debootstrap finished but {partial}/usr/sbin/asterisk is missing")
        partial.rename(root)
    except subprocess.CalledProcessError as exc:
        raise AsteriskError(f"debootstrap failed ({exc.returncode}); see {partial}/debootstrap/debootstrap.log") from exc
    own_account(root)
    return root


def asterisk_ids(root: Path) -> tuple[int, int]:
    """uid and gid of the asterisk user inside the root (they differ from the host's names)."""
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "asterisk":
            return int(fields[2]), int(fields[3])
    raise AsteriskError(f"{root}/etc/passwd has no asterisk user; is {root} an Asterisk root?")


def host_account() -> tuple[int, int]:
    """uid and gid of the host's account for the bundled Asterisk: a system user with a group
    of its own, no home and no login, made when missing (needs root)."""
    try:
        entry = pwd.getpwnam(HOST_ACCOUNT)
    except KeyError:
        if os.geteuid() != 0:
            raise AsteriskError(f"the host has no {HOST_ACCOUNT} account, and making it needs root") from None
        result = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                                 "--shell", "/usr/sbin/nologin", "--comment", "fourteenplus bundled Asterisk",
                                 HOST_ACCOUNT], capture_output=True, text=True)
        if result.returncode != 0:
            raise AsteriskError(f"useradd {HOST_ACCOUNT} failed: {result.stderr.strip()}") from None
        entry = pwd.getpwnam(HOST_ACCOUNT)
    return entry.pw_uid, entry.pw_gid


def own_account(root: Path) -> None:
    """Run the root's Asterisk as the host's own account for it (`host_account`)."""
    give_ids(root, *host_account())


def give_ids(root: Path, uid: int, gid: int) -> bool:
    """Make the root's asterisk user `uid` and its group `gid`, hand it what the old ids owned
    in the root, and take it out of every other group (Debian puts it in dialout and audio,
    which on the host are the host's groups); True when anything changed.

    Ownership changes first and the account last: a fix-up cut short is finished by the next,
    which still finds the old ids in the root's passwd."""
    old_uid, old_gid = asterisk_ids(root)
    passwd = _table(root / "etc/passwd")
    groups = _table(root / "etc/group")
    for table, wanted, what in ((passwd, uid, "user"), (groups, gid, "group")):
        taken = [fields[0] for fields in table if fields[0] != "asterisk" and int(fields[2]) == wanted]
        if taken:
            raise AsteriskError(f"{root}: id {wanted} of the host's {HOST_ACCOUNT} {what} is {taken[0]}'s in the root")
    changed = (old_uid, old_gid) != (uid, gid)
    if changed:
        _chown_tree(root, old_uid, old_gid, uid, gid)
    for fields in passwd:
        if fields[0] == "asterisk":
            fields[2:4] = [str(uid), str(gid)]
    for fields in groups:
        members = fields[3].split(",") if fields[3] else []
        if fields[0] == "asterisk":
            fields[2] = str(gid)
        elif "asterisk" in members:
            fields[3] = ",".join(m for m in members if m != "asterisk")
            changed = True
    if changed:
        _write_table(root / "etc/passwd", passwd)
        _write_table(root / "etc/group", groups)
    return changed


def _table(path: Path) -> list[list[str]]:
    return [line.split(":") for line in path.read_text().splitlines() if line]


def _write_table(path: Path, table: list[list[str]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(":".join(fields) + "\n" for fields in table))
    tmp.chmod(path.stat().st_mode & 0o7777)
    tmp.rename(path)


def _chown_tree(root: Path, old_uid: int, old_gid: int, uid: int, gid: int) -> None:
    """Whatever in the root the old ids own, the new ones own (links themselves, not their
    targets; nothing mounted inside the root)."""
    def chown(path: str) -> None:
        st = os.lstat(path)
        if st.st_uid == old_uid or st.st_gid == old_gid:
            os.lchown(path, uid if st.st_uid == old_uid else -1, gid if st.st_gid == old_gid else -1)

    chown(str(root))
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(top, d))]
        for name in (*dirs, *files):
            chown(os.path.join(top, name))


# ---- installing ----

CALLERS_CONTEXT = "context=fourteenplus-in\n"
# In an operator's own Asterisk: the file of theirs that must #include each of ours.
INCLUDED_BY = {"fourteenplus.conf": "extensions.conf", "fourteenplus-generated.conf": "extensions.conf",
               "fourteenplus-ari-users.conf": "ari.conf", "fourteenplus-manager-users.conf": "manager.conf"}


def layout(service: Service, root: Path) -> asterisk_layout.Layout:
    """Where the Asterisk in `root` keeps its files: its asterisk.conf (`asterisk.asterisk_conf`),
    with the configuration's `asterisk.directories` over it."""
    return asterisk_layout.read(root, service.asterisk.conf, service.asterisk.directories)


def install(service: Service, root: Path | None = None, host: bool = False, agi: bool = False,
            log=print) -> Path:
    """Write our configuration, credentials, generated dialplan and prompts into the root.

    `host`: into the operator's own Asterisk (in `root`, default "/": this machine's), where
    its asterisk.conf says: only our own files, and an `#include` line for each in the
    operator's file that must read it.
    `agi`: the bundled callers' endpoint sends calls to [fourteenplus-in-agi] (FastAGI mode).
    """
    root = root or (Path("/") if host else paths.asterisk_root())
    where = layout(service, root)
    etc = where.etc
    if host and not (root / where.conf.lstrip("/")).is_file() and not service.asterisk.directories:
        raise AsteriskError(f"{where.conf} does not exist: name your Asterisk's asterisk.conf in the "
                            "configuration (asterisk.asterisk_conf), or its directories (asterisk.directories)")
    if not etc.is_dir():
        raise AsteriskError(f"{etc} does not exist; "
                            + ("is astetcdir right?" if host else "build the root first (`fourteenplus asterisk build`)"))
    if not host:
        own_account(root)
    owner = _etc_owner(etc) if host else asterisk_ids(root)
    files: dict[str, str] = {}
    for conf_dir in CONF_DIRS:
        for conf in sorted(conf_dir.glob("*.conf")):
            files[conf.name] = conf.read_text()
    if agi:
        files["pjsip.conf"] = files["pjsip.conf"].replace(CALLERS_CONTEXT, "context=fourteenplus-in-agi\n")
    own_ari_user = host and service.asterisk.ari_user is not None
    files.update(credential_files(credentials(create=True), own_ari_user=own_ari_user))
    if host:
        files = {name: text for name, text in files.items() if name in OWN_FILES}
    for name, text in files.items():
        _write_conf(etc / name, text, owner[1])
    written = _install_generated(service, where, owner)
    log(f"wrote {', '.join(sorted((*files, 'fourteenplus-generated.conf')))} into {etc}; "
        f"prompts into {where.sounds / prompts.SOUNDS_SUBDIR} ({written} (re)generated)")
    if host:
        for name in (name for name in INCLUDED_BY if name in files or name == "fourteenplus-generated.conf"):
            if _include(etc / INCLUDED_BY[name], name, owner[1]):
                log(f"added `#include {name}` to {etc / INCLUDED_BY[name]}")
        log("then: asterisk -rx 'core reload'")
    return etc


def _etc_owner(etc: Path) -> tuple[int, int]:
    """Who an operator's Asterisk reads its configuration as: the owner of its etc directory
    (Debian's asterisk user; root for a source build that runs as root)."""
    st = etc.stat()
    return st.st_uid, st.st_gid


def _include(target: Path, name: str, gid: int) -> bool:
    """`#include name` at the end of the operator's `target` unless it already includes it;
    True when added. Their file keeps its mode and owner; a missing one is made."""
    line = f"#include {name}"
    try:
        text = target.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        text = ""
    if any(re.fullmatch(rf"\s*#include\s+\"?{re.escape(name)}\"?\s*", old) for old in text.splitlines()):
        return False
    addition = ("" if not text or text.endswith("\n") else "\n") + f"; added by `fourteenplus asterisk install --host`\n{line}\n"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text + addition, encoding="utf-8", errors="surrogateescape")
    if target.exists():
        st = target.stat()
        os.chown(tmp, st.st_uid, st.st_gid)
        tmp.chmod(st.st_mode & 0o7777)
    else:
        os.chown(tmp, 0, gid)
        tmp.chmod(0o640)
    tmp.rename(target)
    return True


def _write_conf(target: Path, text: str, gid: int) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text)
    # Readable by Asterisk (it reads its configuration after dropping root), by no one else.
    os.chown(tmp, 0, gid)
    tmp.chmod(0o640)
    tmp.rename(target)


# ---- keeping what the configuration generates in step with it ----
# The keypad menu's prompt names the municipalities in the configuration's order, and the app
# and the dialplan's fallback map the keys in that order: a reordered list with the old prompt
# sends a key to another municipality than the caller heard. So whatever configuration the app
# puts in force, the generated dialplan and the prompts must say the same first.

_DIALPLAN_STAMP = ".dialplan.sha256"  # beside the prompts, readable by the app's user


def _dialplan_digest(service: Service) -> str:
    # The first line names the source file, which says nothing about what the dialplan does.
    return hashlib.sha256(render_dialplan(service).split("\n", 1)[1].encode()).hexdigest()


def _install_generated(service: Service, where: asterisk_layout.Layout, owner: tuple[int, int] | None) -> int:
    """The dialplan and the prompts generated from `service`, with the dialplan's stamp
    written last, so an interrupted install reads as out of step. Returns the prompts made."""
    gid = owner[1] if owner else os.getgid()
    _write_conf(where.etc / "fourteenplus-generated.conf", render_dialplan(service), gid)
    sounds = where.sounds
    made = prompts.install(service, sounds, owner=owner)
    stamp = sounds / prompts.SOUNDS_SUBDIR / _DIALPLAN_STAMP
    stamp.write_text(_dialplan_digest(service) + "\n")
    if owner:
        os.chown(stamp, *owner)
    return made


def out_of_step(service: Service, root: Path) -> list[str]:
    """What of the Asterisk in `root` ("/" for the operator's own) does not yet say what
    `service` needs: `dialplan` and the prompts by language/id; [] when in step."""
    sounds = layout(service, root).sounds
    stamp = sounds / prompts.SOUNDS_SUBDIR / _DIALPLAN_STAMP
    try:
        dialplan_ok = stamp.read_text().strip() == _dialplan_digest(service)
    except OSError:
        dialplan_ok = False
    return ([] if dialplan_ok else ["dialplan"]) + prompts.out_of_step(service, sounds)


def generated_differs(old: Service, new: Service) -> bool:
    """Whether the dialplan or the prompts generated from the two configurations differ."""
    return _dialplan_digest(old) != _dialplan_digest(new) or prompts.sources(old) != prompts.sources(new)


def ours(service: Service, root: Path) -> bool:
    """Whether `root` holds an Asterisk with our configuration installed."""
    return (layout(service, root).etc / "fourteenplus.conf").exists()


def bring_in_step(service: Service, root: Path, log=print) -> list[str]:
    """Regenerate what is out of step with `service` in `root` and make the running Asterisk
    read its dialplan again (ARI's module reload: no root or AMI rights needed). Returns what
    was out of step. Raises AsteriskError when that cannot be done (files not writable by
    this user, Asterisk not answering): the caller keeps the configuration it had."""
    stale = out_of_step(service, root)
    if not stale:
        return []
    try:
        where = layout(service, root)
        owner = (asterisk_ids(root) if root != Path("/") else _etc_owner(where.etc)) if os.geteuid() == 0 else None
        _install_generated(service, where, owner)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise AsteriskError(f"cannot write the generated dialplan and prompts into {root} ({exc}); "
                            f"as root run `fourteenplus asterisk install{' --host' if root == Path('/') else ''}` "
                            "with this configuration, then reload again") from exc
    reload_dialplan(service.asterisk)
    log(f"{len(stale)} generated files brought in step in {root}: {', '.join(stale[:8])}"
        f"{' …' if len(stale) > 8 else ''}")
    return stale


def reload_dialplan(asterisk: AsteriskSettings, timeout: float = 10.0) -> None:
    """`module reload pbx_config.so` over ARI, as the app's ARI user."""
    from .ari.client import AriSettings

    settings = AriSettings.of(asterisk)
    request = _ari_request(settings.url.rstrip("/") + "/", "asterisk/modules/pbx_config.so",
                           settings.user, settings.password, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise AsteriskError(f"Asterisk did not reload its dialplan over ARI at {settings.url} ({exc})") from exc


# ---- running ----

def pid_path() -> Path:
    return paths.state_dir() / "asterisk.pid"


def log_path() -> Path:
    return paths.state_dir() / "asterisk.log"


def running_pid() -> int | None:
    """The pid of the Asterisk we started, if it is still that process."""
    try:
        pid = int(pid_path().read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"asterisk" in cmdline else None


def ari_info(user: str, password: str, timeout: float = 2.0, url: str = ARI_URL) -> dict | None:
    """GET /ari/asterisk/info, or None when ARI does not answer (`url`: another instance's ARI)."""
    request = _ari_request(url, "asterisk/info", user, password)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _ari_request(url: str, resource: str, user: str, password: str, method: str = "GET") -> urllib.request.Request:
    """A request for `url`/ari/`resource` with ARI's basic authentication."""
    request = urllib.request.Request(f"{url}ari/{resource}", method=method)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    return request


def start(root: Path | None = None, timeout: float = 60.0, log=print,
          settings: AsteriskSettings | None = None) -> int:
    """Start the chrooted Asterisk in the background and wait until ARI answers; returns its pid.

    `settings`: an Asterisk in the root started with another asterisk.conf (`asterisk_conf`,
    `asterisk -C`) and the ARI user the app logs in as; default the bundled one's."""
    root = root or paths.asterisk_root()
    settings = settings or AsteriskSettings()
    pid = running_pid()
    if pid:
        return pid
    if os.geteuid() != 0:
        raise AsteriskError("running the bundled Asterisk needs root (chroot); run as root or via sudo")
    where = asterisk_layout.read(root, settings.conf, settings.directories)
    if not (where.etc / "fourteenplus.conf").exists():
        raise AsteriskError(f"no fourteenplus configuration in {where.etc}; run `fourteenplus asterisk install` first")
    user, password = ari_login(settings)
    own_account(root)
    uid, gid = asterisk_ids(root)
    # /run is not mounted in the root: make Asterisk's run dir (control socket, pid) by hand.
    rundir = where.host("astrundir")
    rundir.mkdir(parents=True, exist_ok=True)
    os.chown(rundir, uid, gid)
    paths.state_dir().mkdir(parents=True, exist_ok=True)
    conf = ["-C", settings.conf] if settings.conf else []
    with open(log_path(), "ab") as logfile:
        process = subprocess.Popen(
            ["chroot", str(root), "/usr/sbin/asterisk", "-f", *conf, "-U", "asterisk", "-G", "asterisk"],
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    pid_path().write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pid_path().unlink(missing_ok=True)
            raise AsteriskError(f"Asterisk exited with {process.returncode}; see {log_path()} "
                                f"and {root}/var/log/asterisk/messages.log")
        if ari_info(user, password, timeout=0.5, url=settings.ari_url):
            log(f"Asterisk running (pid {process.pid}); ARI at {settings.ari_url}")
            return process.pid
        time.sleep(0.2)
    stop()
    raise AsteriskError(f"ARI did not answer within {timeout:.0f} s; see {root}/var/log/asterisk/messages.log")


def reload(root: Path | None = None) -> None:
    """Make the running Asterisk read its configuration again (after `install`)."""
    root = root or paths.asterisk_root()
    result = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-rx", "core reload"],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise AsteriskError(f"core reload failed: {result.stderr.strip() or result.stdout.strip()}")


def stop(timeout: float = 15.0) -> bool:
    """Stop the Asterisk we started (by its pid); True if one was running."""
    pid = running_pid()
    if pid is None:
        pid_path().unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid() == pid:
        _reap(pid)
        time.sleep(0.1)
    if running_pid() == pid:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        _reap(pid)
    pid_path().unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status when we are the parent, so the pid does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
