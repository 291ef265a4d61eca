#!/usr/bin/env python3
"""The Debian packages, built with CPack from a release build and checked the way a machine would
use them.

  packages_test.py lint BUILD_DIR      build the four .deb (and the agent's .rpm), run lintian,
                                        check contents, conffiles and maintainer scripts
  packages_test.py install BUILD_DIR   (root) in a throwaway Debian 12 root made by mmdebstrap:
      install mimamori-server and mimamori; the server starts on its defaults; the agent and the
      sensor are installed from the server's own signed repository with the one-line commands of
      /api/v1/device-packages and enroll; the agent's events arrive; the agent is upgraded from that
      repository to a higher version while events wait in its spool, and every event arrives
      exactly once; remove keeps the state, purge leaves nothing but what Debian policy keeps.

Without systemd as PID 1 the programs are started the way their units start them (same command,
same user). The root runs in a network namespace of its own, so the server's default port is
free. The root's tarball is cached in MIMAMORI_PACKAGES_CACHE or ~/.cache/mimamori (keyed by the
packages' versioned dependencies), so only the first run downloads from Debian's archive.
Exit 77: skipped (not root, no mmdebstrap, archive unreachable without a cached root), with the
reason printed."""
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from server_fixture import parse_dump

SKIP = 77
MIRROR = "http://deb.debian.org/debian"
# The suites a Debian 12 machine uses: the packages' dependencies are as new as the build
# machine's, which takes point-release, update and security versions from them.
SOURCES = [f"deb {MIRROR} bookworm main", f"deb {MIRROR} bookworm-updates main",
           "deb http://deb.debian.org/debian-security bookworm-security main"]
failures = []
timings = {}


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def sh(*cmd, check=True, input=None, env=None, timeout=600):
    r = subprocess.run(list(cmd), capture_output=True, text=True, input=input, env=env,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def build_packages(build, out, version=None, components=None):
    """cpack into `out`; a higher `version` for the upgrade (the same programs, newer package)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["cpack", "-G", "DEB", "-B", out]
    if version:
        cmd += ["-D", f"CPACK_PACKAGE_VERSION={version}"]
    if components:
        cmd += ["-D", f"CPACK_COMPONENTS_ALL={components}"]
    r = subprocess.run(cmd, cwd=build, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"cpack failed:\n{r.stdout}\n{r.stderr}")
    return sorted(glob.glob(os.path.join(out, "*.deb")))


def deb_field(deb, field):
    return sh("dpkg-deb", "-f", deb, field).stdout.strip()


def pkg_of(debs, name):
    for d in debs:
        if deb_field(d, "Package") == name:
            return d
    raise RuntimeError(f"no {name} package among {debs}")


# --- lint -------------------------------------------------------------------------------------

def lint(build):
    t0 = time.monotonic()
    out = os.path.join(build, "packages-test", "lint")
    debs = build_packages(build, out)
    timings["cpack"] = time.monotonic() - t0
    names = {deb_field(d, "Package"): d for d in debs}
    want = {"mimamori-server", "mimamori-agent", "mimamori-sensor", "mimamori"}
    if set(names) != want:
        fail(f"packages built: {sorted(names)}, expected {sorted(want)}")
    expect = {
        "mimamori-server": ["./usr/bin/mimamori-server", "./usr/bin/mimamori-repo",
                            "./etc/mimamori/server.yaml",
                            "./lib/systemd/system/mimamori-server.service",
                            "./usr/share/mimamori/web/",
                            "./usr/share/mimamori/registered_services.tsv"],
        "mimamori-agent": ["./usr/bin/mimamori-agent", "./etc/mimamori/agent.yaml",
                           "./lib/systemd/system/mimamori-agent.service"],
        "mimamori-sensor": ["./usr/bin/mimamori-sensor", "./etc/mimamori/sensor.yaml",
                            "./lib/systemd/system/mimamori-sensor@.service",
                            "./lib/systemd/system/mimamori-sensor-inline.service"],
        "mimamori": ["./usr/bin/mimamori"],
    }
    # The web console, when this build made it (npm present), is in the server's package.
    if os.path.exists(os.path.join(build, "share/mimamori/web/index.html")):
        expect["mimamori-server"].append("./usr/share/mimamori/web/index.html")
    for name, deb in names.items():
        listing = sh("dpkg-deb", "-c", deb).stdout
        paths = {line.split()[-1] for line in listing.splitlines()}
        for p in expect.get(name, []):
            if p not in paths:
                fail(f"{name}: {p} is not in the package")
        for p in paths:
            if p.startswith("./var/"):
                fail(f"{name}: ships {p}; state is made by postinst and the units, never shipped")
        control = tempfile.mkdtemp()
        sh("dpkg-deb", "-e", deb, control)
        if name != "mimamori":
            conffiles = open(os.path.join(control, "conffiles")).read().split()
            short = name.removeprefix("mimamori-")
            if conffiles != [f"/etc/mimamori/{short}.yaml"]:
                fail(f"{name}: conffiles {conffiles}")
            for script in ("postinst", "prerm", "postrm"):
                if not os.path.exists(os.path.join(control, script)):
                    fail(f"{name}: no {script}")
            postrm = open(os.path.join(control, "postrm")).read()
            if "purge)" not in postrm:
                fail(f"{name}: postrm does not handle purge")
            # A new service is never started by postinst; only an enabled one is restarted.
            postinst = open(os.path.join(control, "postinst")).read()
            if re.search(r"systemctl (enable|start)\b", postinst.replace("enable --now", "")):
                fail(f"{name}: postinst enables or starts the service")
        if "Depends" not in sh("dpkg-deb", "-I", deb).stdout:
            fail(f"{name}: no Depends (dpkg-shlibdeps did not run)")
        shutil.rmtree(control)
    verify_units(debs)
    t1 = time.monotonic()
    r = sh("lintian", "--fail-on", "error,warning", "--suppress-tags", "bad-distribution-in-changes-file",
           *debs, check=False, timeout=900)
    timings["lintian"] = time.monotonic() - t1
    print(r.stdout, end="")
    if r.returncode != 0:
        fail(f"lintian reports errors or warnings (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    if shutil.which("rpmbuild"):
        r = subprocess.run(["cpack", "-G", "RPM", "-B", os.path.join(out, "rpm")], cwd=build,
                           capture_output=True, text=True)
        rpms = glob.glob(os.path.join(out, "rpm", "*.rpm"))
        if r.returncode != 0 or len(rpms) != 1 or "mimamori-agent" not in rpms[0]:
            fail(f"the agent's .rpm was not made: {rpms} {r.stdout} {r.stderr}")
        else:
            files = sh("rpm", "-qlp", rpms[0]).stdout.split()
            conf = sh("rpm", "-qcp", rpms[0]).stdout.split()
            for p in ("/usr/bin/mimamori-agent", "/etc/mimamori/agent.yaml"):
                if p not in files:
                    fail(f"rpm: {p} missing")
            if conf != ["/etc/mimamori/agent.yaml"]:
                fail(f"rpm: config files {conf}")
    print(f"packages={len(debs)} " + " ".join(f"{k}={v:.1f}s" for k, v in timings.items()))


def verify_units(debs):
    """systemd-analyze verify on the packaged units: unknown keys, bad values and missing
    dependencies are failures; only the programs' absence from this machine's /usr/bin (they
    are in the packages, not installed here) is expected."""
    if not shutil.which("systemd-analyze"):
        print("note: no systemd-analyze (Debian package systemd): the units are not verified")
        return
    tmp = tempfile.mkdtemp()
    try:
        units = []
        for deb in debs:
            sh("dpkg-deb", "-x", deb, tmp)
        unit_dir = os.path.join(tmp, "lib/systemd/system")
        for name in sorted(os.listdir(unit_dir)) if os.path.isdir(unit_dir) else []:
            src = os.path.join(unit_dir, name)
            # A template is verified as an instance of it.
            dst = os.path.join(tmp, name.replace("@.", "@eth1."))
            shutil.copy(src, dst)
            units.append(dst)
        if len(units) != 4:
            fail(f"expected the four packaged units, found {[os.path.basename(u) for u in units]}")
        r = sh("systemd-analyze", "verify", "--man=no", *units, check=False)
        expected = re.compile(r"Command /usr/bin/mimamori-[a-z]+ is not executable: "
                              r"No such file or directory$")
        bad = [line for line in (r.stdout + r.stderr).splitlines()
               if line.strip() and not expected.search(line)]
        if bad:
            fail("systemd-analyze verify on the packaged units:\n" + "\n".join(bad))
    finally:
        shutil.rmtree(tmp)


# --- install ----------------------------------------------------------------------------------

class Root:
    """A Debian 12 root in a network namespace of its own (loopback up)."""

    def __init__(self, path):
        self.path = path
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--", "sh", "-c", "ip link set lo up && exec sleep infinity"])
        time.sleep(0.3)
        self.procs = []

    def run(self, script, check=True, input=None, timeout=600):
        """A shell script inside the root (chroot, namespace)."""
        return sh("nsenter", "-t", str(self.holder.pid), "-n", "chroot", self.path, "/bin/sh",
                  "-ec", script, check=check, input=input, timeout=timeout,
                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
                       "LANG": "C.UTF-8", "HOME": "/root"})

    def host(self, *cmd, check=True):
        """A program of this machine in the root's network namespace (curl)."""
        return sh("nsenter", "-t", str(self.holder.pid), "-n", *cmd, check=check)

    def start(self, script, log):
        p = subprocess.Popen(
            ["nsenter", "-t", str(self.holder.pid), "-n", "chroot", self.path, "/bin/sh", "-c",
             "exec " + script], stdout=subprocess.PIPE, stderr=log, text=True,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"})
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.holder.kill()
        self.holder.wait()


def tree(root):
    """Every path below `root`, relative."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in dirs + files:
            out.add(os.path.normpath(os.path.join(rel, n)))
    return out


def archive_reachable():
    try:
        sh("curl", "-fsS", "--max-time", "10", "-o", "/dev/null", f"{MIRROR}/dists/bookworm/Release")
        return True
    except Exception:
        return False


def root_cache_dir(work):
    """Where the Debian 12 root's tarball is kept between runs: MIMAMORI_PACKAGES_CACHE, else the
    user's cache folder (so a fresh build folder does not download it again), else `work`."""
    for d in (os.environ.get("MIMAMORI_PACKAGES_CACHE"),
              os.path.join(os.environ.get("XDG_CACHE_HOME") or
                           os.path.join(os.path.expanduser("~"), ".cache"), "mimamori")):
        if not d:
            continue
        try:
            os.makedirs(d, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            pass
    return work


def depends_of(debs):
    """Package names the .deb files depend on (first of each alternative)."""
    names = set()
    for d in debs:
        for field in ("Depends", "Pre-Depends"):
            for item in deb_field(d, field).split(","):
                item = item.split("|")[0].strip()
                if item:
                    names.add(re.split(r"[ (]", item)[0])
    return sorted(names)


def start_server(root, log):
    p = root.start("setpriv --reuid=mimamori --regid=mimamori --init-groups "
                   "/usr/bin/mimamori-server --config /etc/mimamori/server.yaml",
                   log)
    url = fp = None
    for line in p.stdout:
        if "listening on" in line:
            url = line.split()[3]
        if "fingerprint" in line:
            fp = line.split()[-1]
            break
    if not url or not fp:
        raise RuntimeError("mimamori-server did not start; see server.log")
    return p, url, fp


def auth_messages(root):
    """The messages of the stored auth events, read back by the installed server's own
    `mimamori admin events dump`."""
    r = root.run("runuser -u mimamori -- mimamori admin events dump "
                 "-c /etc/mimamori/server.yaml --keys")
    rows = [raw for _, _, t, raw in parse_dump(r.stdout) if t == "auth"]
    return [json.loads(r)["auth"]["message"] for r in rows]


def write_lines(path, first, n):
    with open(path, "a") as f:
        for i in range(first, first + n):
            f.write(f"2026-12-07T10:{(i // 60) % 60:02d}:{i % 60:02d}.000000+09:00 web-01 "
                    f"sshd[{1000 + i}]: Failed password for user{i} from 198.51.100.{i % 200 + 1} "
                    f"port {40000 + i} ssh2\n")


def wait_for(pred, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.5)
    fail(f"timed out after {seconds}s waiting for {what}")
    return False


AGENT_CMD = ("/usr/bin/mimamori-agent --config /etc/mimamori/agent.yaml "
             # The collectors that need a whole machine (fanotify, the process connector, the
             # journal) are off in a chroot; the auth collector reads a file of the test's.
             "--set auth.files=/var/log/mm-test-auth.log --set auth.from_start=true "
             "--set auth.journald=false --set fim.enabled=false --set persistence.enabled=false "
             "--set ransomware.enabled=false --set process.enabled=false --set yara.enabled=false "
             "--set network.enabled=false --set inventory.enabled=false "
             "--set agent.poll_interval_ms=100 --set agent.stats_interval_s=1 "
             "--set uplink.backoff_min_ms=100 --set uplink.backoff_max_ms=1000")


def install(build):
    if os.geteuid() != 0:
        skip("needs root (chroot, network namespace, mmdebstrap)")
    for tool, pkg in (("mmdebstrap", "mmdebstrap"), ("unshare", "util-linux"),
                      ("nsenter", "util-linux"), ("ip", "iproute2"), ("curl", "curl"),
                      ("apt-ftparchive", "apt-utils"), ("gpg", "gnupg")):
        if not shutil.which(tool):
            skip(f"{tool} is missing (Debian package {pkg})")
    work = os.path.join(build, "packages-test")
    os.makedirs(work, exist_ok=True)
    cache = root_cache_dir(work)
    t_all = time.monotonic()
    t0 = time.monotonic()
    debs = build_packages(build, os.path.join(work, "v1"))
    version = deb_field(pkg_of(debs, "mimamori-agent"), "Version").split("-")[0]
    parts = version.split(".")
    higher = ".".join(parts[:-1] + [str(int(parts[-1]) + 1)])
    newer = build_packages(build, os.path.join(work, "v2"), version=higher, components="agent")
    timings["cpack"] = time.monotonic() - t0
    server_deb, cli_deb, agent_deb, sensor_deb = (
        pkg_of(debs, n) for n in ("mimamori-server", "mimamori", "mimamori-agent", "mimamori-sensor"))
    agent2_deb = newer[0]

    # The root: Debian 12 with what the packages depend on, plus apt-utils and gnupg
    # (mimamori-repo, recommended by mimamori-server), cached by that list.
    deps = depends_of([server_deb, cli_deb, agent_deb, sensor_deb]) + ["apt-utils", "gnupg"]
    # Keyed by the versioned dependencies: a build against newer libraries makes a newer root.
    fields = [deb_field(d, f) for d in (server_deb, cli_deb, agent_deb, sensor_deb)
              for f in ("Depends", "Pre-Depends")]
    key = hashlib.sha256("\n".join(deps + fields).encode()).hexdigest()[:16]
    tarball = os.path.join(cache, f"bookworm-{key}.tar")
    t0 = time.monotonic()
    if not os.path.exists(tarball):
        if not archive_reachable():
            skip(f"Debian's archive ({MIRROR}) is unreachable and no cached root exists")
        for old in glob.glob(os.path.join(cache, "bookworm-*.tar")):  # an older root
            os.remove(old)
        part = tarball.removesuffix(".tar") + ".part.tar"  # mmdebstrap picks the format by name
        sh("mmdebstrap", "--quiet", "--variant=apt", "--include=" + ",".join(deps), "bookworm",
           part, *SOURCES, timeout=1800)
        os.rename(part, tarball)
        timings["root_cold"] = time.monotonic() - t0
    path = tempfile.mkdtemp(prefix="mimamori-root-", dir=work)
    sh("tar", "--numeric-owner", "-C", path, "-xf", tarball)
    timings["root_unpack"] = time.monotonic() - t0
    # Devices get the packages from the provider's server only; no other source is reachable.
    open(os.path.join(path, "etc/apt/sources.list"), "w").close()
    for d in ("v1", "v2"):
        os.makedirs(os.path.join(path, "tmp/pkgs", d), exist_ok=True)
    for deb in debs:
        shutil.copy(deb, os.path.join(path, "tmp/pkgs/v1"))
    shutil.copy(agent2_deb, os.path.join(path, "tmp/pkgs/v2"))
    before = tree(path)
    root = Root(path)
    log = open(os.path.join(work, "server.log"), "w")
    alog = open(os.path.join(work, "agent.log"), "w")
    try:
        flow(root, path, log, alog, before, os.path.basename(server_deb),
             os.path.basename(cli_deb), os.path.basename(agent2_deb), higher,
             os.path.exists(os.path.join(build, "share/mimamori/web/index.html")))
    finally:
        root.close()
        log.close()
        alog.close()
        if not failures:
            shutil.rmtree(path, ignore_errors=True)
        else:
            print(f"the root is kept for a look: {path}; logs in {work}")
    timings["total"] = time.monotonic() - t_all
    print(" ".join(f"{k}={v:.1f}s" for k, v in timings.items()))


def flow(root, path, log, alog, before, server_deb, cli_deb, agent2_deb, higher, web_built):
    t0 = time.monotonic()
    # 1. The server and the CLI from their .deb files.
    r = root.run(f"dpkg -i /tmp/pkgs/v1/{cli_deb} /tmp/pkgs/v1/{server_deb} 2>&1")
    if "is installed but not started" not in r.stdout or "mimamori admin init" not in r.stdout:
        fail(f"mimamori-server's postinst did not say what to do next:\n{r.stdout}")
    st = os.stat(f"{path}/var/lib/mimamori")
    uid = int(root.run("id -u mimamori").stdout)
    if st.st_uid != uid or st.st_mode & 0o777 != 0o700:
        fail(f"/var/lib/mimamori is not the server user's, mode 0700: uid {st.st_uid} "
             f"mode {st.st_mode & 0o777:o}")
    if os.stat(f"{path}/etc/mimamori/server.yaml").st_mode & 0o777 != 0o640:
        fail("/etc/mimamori/server.yaml is not mode 0640")

    # 2. Set up as the postinst says, then start on the packaged defaults.
    root.run("runuser -u mimamori -- mimamori admin init -c /etc/mimamori/server.yaml "
             "--provider 'Test SOC' --email admin@soc.example.jp --password-stdin",
             input="package test password 1\n")
    customer = root.run("runuser -u mimamori -- mimamori admin customer add "
                        "-c /etc/mimamori/server.yaml --name 'Yamada Seisakusho'").stdout.strip()
    code, sensor_code = (
        root.run("runuser -u mimamori -- mimamori admin enroll-code -c /etc/mimamori/server.yaml "
                 f"--customer {customer}").stdout.strip() for _ in range(2))
    server, url, fp = start_server(root, log)
    if url != "https://127.0.0.1:8443":
        fail(f"the server on its defaults listens on {url}, not https://127.0.0.1:8443")
    # The packaged web console is served at / (when the build made it).
    if os.path.exists(f"{path}/usr/share/mimamori/web/index.html"):
        page = root.host("curl", "-sk", f"{url}/", check=False).stdout
        if "<html" not in page.lower():
            fail(f"the packaged web console is not served at /: {page[:200]}")
    elif web_built:
        fail("mimamori-server's package holds no web console although the build made it")

    # 3. The device repository, and the one-line install command from the API.
    r = root.run("runuser -u mimamori -- mimamori-repo init && "
                 "runuser -u mimamori -- mimamori-repo add /tmp/pkgs/v1/mimamori-agent_*.deb "
                 "/tmp/pkgs/v1/mimamori-sensor_*.deb")
    key_fpr = re.search(r"fingerprint: ([0-9A-F]{40})", r.stdout)
    if not key_fpr:
        fail(f"mimamori-repo init printed no fingerprint:\n{r.stdout}")
    cookies = os.path.join(path, "tmp", "cookies")
    login = root.host("curl", "-sk", "-c", cookies, "-H", "Content-Type: application/json",
                      "-d", '{"email":"admin@soc.example.jp","password":"package test password 1"}',
                      f"{url}/api/v1/login")
    if '"csrf_token"' not in login.stdout:
        fail(f"login failed: {login.stdout}")
    info = json.loads(root.host("curl", "-sk", "-b", cookies, f"{url}/api/v1/device-packages").stdout)
    if key_fpr and (info.get("repository") or {}).get("fingerprint") != key_fpr.group(1):
        fail(f"/api/v1/device-packages does not show the key's fingerprint: {info}")
    commands = {p["package"]: p["command"] for p in info.get("platforms", [])
                if p["platform"] == "debian"}
    if set(commands) != {"mimamori-agent", "mimamori-sensor"}:
        fail(f"no Debian install command for the agent and the sensor: {info}")
        return
    # The agent, then the sensor, each with its own line and code, as a technician would.
    for pkg, c in (("mimamori-agent", code), ("mimamori-sensor", sensor_code)):
        command = commands[pkg].replace("sudo ", "").replace("{code}", c)
        r = root.run(command + " 2>&1", check=False)
        if r.returncode != 0:
            fail(f"the {pkg} install command failed ({r.returncode}):\n{command}\n{r.stdout}")
            return
        if "installed but not started" not in r.stdout:
            fail(f"{pkg}'s postinst did not say what to do next:\n{r.stdout}")
        short = pkg.removeprefix("mimamori-")
        cred = f"{path}/etc/mimamori/{short}.credential"
        if not os.path.exists(cred):
            fail(f"{pkg} did not enroll (no /etc/mimamori/{short}.credential):\n{r.stdout}")
        elif os.stat(cred).st_mode & 0o777 != 0o600:
            fail(f"/etc/mimamori/{short}.credential is mode {os.stat(cred).st_mode & 0o777:o}, not 0600")
    st = os.stat(f"{path}/var/lib/mimamori-sensor")
    uid = int(root.run("id -u mimamori-sensor").stdout)
    if st.st_uid != uid or st.st_mode & 0o777 != 0o700:
        fail(f"/var/lib/mimamori-sensor is not the sensor user's, mode 0700: uid {st.st_uid} "
             f"mode {st.st_mode & 0o777:o}")
    timings["install_enroll"] = time.monotonic() - t0

    # 4. Events arrive.
    t0 = time.monotonic()
    auth_log = f"{path}/var/log/mm-test-auth.log"
    write_lines(auth_log, 0, 200)
    agent = root.start(AGENT_CMD, alog)
    wait_for(lambda: len(auth_messages(root)) >= 200, 60, "the first 200 events")

    # 5. The server goes away; 300 more events wait in the agent's spool. The agent is stopped
    # as prerm stops its unit, with the events still waiting.
    root.stop(server)
    write_lines(auth_log, 200, 300)

    def spool_depth():
        try:
            return json.load(open(f"{path}/var/lib/mimamori-agent/stats.json"))["spool"]["depth"]
        except (OSError, ValueError, KeyError):
            return 0
    wait_for(lambda: spool_depth() >= 300, 60, "300 events in the agent's spool")
    root.stop(agent)
    print(f"spool depth at the upgrade: {spool_depth()}", flush=True)

    # 6. Upgrade from the provider's repository to a higher version (the agent stays stopped,
    # so the server being up for apt sends none of the waiting events).
    # A local change to the configuration (a conffile) is kept by the upgrade, without a question.
    with open(f"{path}/etc/mimamori/agent.yaml", "a") as f:
        f.write("# local change kept across upgrades\n")
    server, _, fp2 = start_server(root, log)
    if fp2 != fp:
        fail("the server's certificate changed across restarts")
    r = root.run(f"runuser -u mimamori -- mimamori-repo add /tmp/pkgs/v2/{agent2_deb} >/dev/null && "
                 "apt-get update -qq && apt-get install -y mimamori-agent 2>&1 && "
                 "dpkg-query -W -f='${Version}' mimamori-agent", check=False)
    if r.returncode != 0 or not r.stdout.strip().endswith(f"{higher}-1"):
        fail(f"the upgrade to {higher} failed:\n{r.stdout}")
    if "# local change kept across upgrades" not in open(f"{path}/etc/mimamori/agent.yaml").read():
        fail("the upgrade replaced the locally changed /etc/mimamori/agent.yaml")
    for kept in ("var/lib/mimamori-agent/spool/state", "etc/mimamori/agent.credential"):
        if not os.path.exists(f"{path}/{kept}"):
            fail(f"the upgrade lost /{kept}")
    if len(auth_messages(root)) != 200:
        fail("events were sent while the agent was stopped for the upgrade")
    agent = root.start(AGENT_CMD, alog)
    wait_for(lambda: len(auth_messages(root)) >= 500, 90, "all 500 events after the upgrade")
    time.sleep(2)  # a duplicate would come now, with the acknowledgement it follows
    msgs = auth_messages(root)
    dups = len(msgs) - len(set(msgs))
    print(f"events: stored={len(msgs)} distinct={len(set(msgs))} duplicates={dups}", flush=True)
    if len(set(msgs)) != 500 or dups:
        fail(f"after the upgrade {len(set(msgs))} of 500 events arrived, {dups} twice")
    root.stop(agent)
    root.stop(server)
    timings["events_upgrade"] = time.monotonic() - t0

    # 7. Remove keeps the state; purge removes it and everything the packages made.
    everything = "mimamori-agent mimamori-sensor mimamori-server mimamori"
    root.run(f"dpkg --remove {everything} 2>&1")
    for kept in ("var/lib/mimamori/mimamori.db", "var/lib/mimamori-agent/spool/state",
                 "etc/mimamori/agent.credential", "etc/mimamori/server.yaml",
                 "etc/mimamori/sensor.credential", "etc/mimamori/sensor.yaml",
                 "var/lib/mimamori-sensor", "var/log/mimamori-sensor"):
        if not os.path.exists(f"{path}/{kept}"):
            fail(f"remove (not purge) deleted /{kept}")
    root.run(f"dpkg --purge {everything} 2>&1")
    left = tree(path) - before
    # What Debian policy keeps or what the install command (not a package) wrote.
    allowed = re.compile(r"^(run/|tmp|var/lib/dpkg|var/lib/apt|var/cache/(apt|debconf|ldconfig)|"
                         r"var/log/(apt|dpkg\.log$|alternatives\.log$|mm-test-auth\.log$)|"
                         r"etc/apt|usr/share/keyrings/mimamori\.gpg$|"
                         r"etc/(passwd|group|shadow|gshadow)-$|etc/ld\.so\.cache$)")
    extra = sorted(p for p in left if not allowed.match(p))
    if extra:
        fail(f"purge left behind: {extra[:20]}")
    passwd = open(f"{path}/etc/passwd").read()
    for user in ("mimamori", "mimamori-sensor"):
        if f"\n{user}:" not in passwd:
            fail(f"purge removed the system user {user} (policy keeps it: files elsewhere may be its)")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("lint", "install"):
        print(__doc__, file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[2])
    if not os.path.exists(os.path.join(build, "bin", "mimamori-agent")):
        print(f"FAIL: {build}/bin holds no built programs", file=sys.stderr)
        return 1
    (lint if sys.argv[1] == "lint" else install)(build)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
