#!/usr/bin/env python3
"""scripts/sign-windows: the agent's .exe and MSI signed with a throwaway code-signing
certificate (a CA and a leaf made here with openssl, PKCS#12 with a password); `osslsigncode
verify` with that CA passes, a byte changed after signing fails, another CA fails, signing again
replaces the signature (one, not two), a wrong password is refused with the reason; build-msi
with MIMAMORI_SIGN_PKCS12 signs the MSI and the program in it.

Usage: sign_test.py OUT_DIR SIGN_WINDOWS AGENT_EXE MSI"""
import os
import shutil
import subprocess
import sys

out, sign, exe, msi = (os.path.abspath(a) for a in sys.argv[1:5])
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
os.chdir(out)
failures = []


def run(*args, stdin=None):
    return subprocess.run(list(args), capture_output=True, text=True, input=stdin)


def must(*args):
    r = run(*args)
    if r.returncode != 0:
        print(f"FAIL: {' '.join(args)}: {r.stderr}")
        sys.exit(1)
    return r


def make_ca(name):
    must("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
         "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign")


make_ca("ca")
make_ca("other-ca")
must("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "signer.key", "-out",
     "signer.csr", "-subj", "/CN=Provider Code Signing/O=Provider")
with open("ext", "w") as f:
    f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=codeSigning\n")
must("openssl", "x509", "-req", "-in", "signer.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
     "-CAcreateserial", "-out", "signer.pem", "-days", "2", "-extfile", "ext")
with open("password", "w") as f:
    f.write("correct horse\n")
must("openssl", "pkcs12", "-export", "-inkey", "signer.key", "-in", "signer.pem", "-certfile",
     "ca.pem", "-out", "signer.p12", "-passout", "file:password")
shutil.copy(exe, "mimamori-agent.exe")
shutil.copy(msi, "agent.msi")


def verify(path, ca="ca.pem"):
    return run("osslsigncode", "verify", "-CAfile", ca, "-in", path)


def signatures(path):
    r = verify(path)
    for line in r.stdout.splitlines():
        if line.startswith("Number of verified signatures:"):
            return int(line.split(":")[1])
    return 0


files = ["mimamori-agent.exe", "agent.msi"]
for f in files:
    if verify(f).returncode == 0:
        failures.append(f"{f} verifies before it is signed")
r = run(sign, "--pkcs12", "signer.p12", "--password-file", "password", *files)
if r.returncode != 0:
    failures.append(f"sign-windows failed: {r.stderr}")
for f in files:
    v = verify(f)
    if v.returncode != 0 or "Signature verification: ok" not in v.stdout:
        failures.append(f"{f}: the signature does not verify with its CA: {v.stdout[-400:]}")
    if "Provider Code Signing" not in v.stdout:
        failures.append(f"{f}: the signer is not named in the signature")
    if verify(f, "other-ca.pem").returncode == 0:
        failures.append(f"{f}: verifies with a CA that did not issue the certificate")
    # A byte changed after signing (the middle of the file: code, or the MSI's streams).
    data = bytearray(open(f, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open("tampered-" + f, "wb").write(data)
    if verify("tampered-" + f).returncode == 0:
        failures.append(f"{f}: a tampered copy still verifies")
# The password from the environment (no file), and signing again: one signature, not two.
env_run = subprocess.run([sign, "--pkcs12", "signer.p12", "mimamori-agent.exe"],
                         capture_output=True, text=True,
                         env=dict(os.environ, MIMAMORI_SIGN_PASSWORD="correct horse"))
if env_run.returncode != 0 or signatures("mimamori-agent.exe") != 1:
    failures.append(f"signing again (password from the environment): rc {env_run.returncode}, "
                    f"{signatures('mimamori-agent.exe')} signatures: {env_run.stderr}")
with open("wrong", "w") as f:
    f.write("wrong\n")
shutil.copy(exe, "unsigned.exe")
w = run(sign, "--pkcs12", "signer.p12", "--password-file", "wrong", "unsigned.exe")
if w.returncode == 0 or "signing 'unsigned.exe' failed" not in w.stderr:
    failures.append(f"a wrong password was not refused with the reason: {w.stderr}")
if open("unsigned.exe", "rb").read() != open(exe, "rb").read():
    failures.append("a failed signing changed the file")
m = run(sign, "--pkcs12", "missing.p12", "unsigned.exe")
if m.returncode == 0 or "cannot read the certificate" not in m.stderr:
    failures.append(f"a missing certificate was not reported: {m.stderr}")
# The MSI build with a certificate configured (MIMAMORI_SIGN_PKCS12, as the windows build passes
# it): the MSI and the program packed in it are both signed.
build_msi = os.path.join(os.path.dirname(os.path.dirname(sign)), "packaging", "windows",
                         "build-msi")
b = subprocess.run([build_msi, "built.msi", exe, "0.1.0", "work"], capture_output=True, text=True,
                   env=dict(os.environ, MIMAMORI_SIGN_PKCS12="signer.p12",
                            MIMAMORI_SIGN_PASSWORD_FILE="password"))
if b.returncode != 0:
    failures.append(f"build-msi with a certificate failed: {b.stderr}")
else:
    subprocess.run(["msiextract", "-C", "built", "built.msi"], capture_output=True)
    packed = os.path.join("built", "Mimamori", "Agent", "mimamori-agent.exe")
    for f in ("built.msi", packed):
        if not os.path.exists(f) or verify(f).returncode != 0:
            failures.append(f"{f}: not signed by the MSI build")
for f in failures:
    print("FAIL:", f)
print(f"signed and verified: {len(files)} files; failures: {len(failures)}")
sys.exit(1 if failures else 0)
