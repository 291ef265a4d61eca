#!/usr/bin/env python3
"""Usage: make_documents.py DIR N [SEED]. Creates N plausible user documents (text, CSV, PDF, DOCX/XLSX as real zip files, PNG) of
8-64 KiB under DIR in a few subfolders, and a manifest of their SHA-256 (DIR/../manifest.json)."""
import hashlib
import io
import json
import os
import random
import struct
import sys
import zipfile
import zlib

root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261126)
words = ("見積 請求 契約 顧客 売上 report invoice budget meeting minutes project schedule "
         "order delivery payment tax office staff plan review 会議 予算 納品").split()


def text(size):
    out, total = [], 0
    while total < size:
        line = " ".join(rng.choices(words, k=12)) + "\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def pdf(size):
    body = text(size - 200)
    head = b"%PDF-1.4\n1 0 obj << /Length " + str(len(body)).encode() + b" >> stream\n"
    return head + body + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def office(size):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", text(size * 3).decode("utf-8", "ignore"))
        z.writestr("word/media/image1.bin", rng.randbytes(size // 2))
    return buf.getvalue()


def png(size):
    w = 64
    raw = b"".join(b"\0" + rng.randbytes(w * 3) for _ in range(size // 200))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, size // 200, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


makers = [("txt", text), ("csv", text), ("pdf", pdf), ("docx", office), ("xlsx", office), ("png", png)]
manifest = {}
for i in range(n):
    ext, make = makers[i % len(makers)]
    sub = os.path.join(root, ["経理", "営業", "projects", "scans"][i % 4])
    os.makedirs(sub, exist_ok=True)
    path = os.path.join(sub, f"document-{i:04d}.{ext}")
    data = make(rng.randrange(8 << 10, 64 << 10))
    with open(path, "wb") as f:
        f.write(data)
    manifest[path] = hashlib.sha256(data).hexdigest()
with open(os.path.join(os.path.dirname(os.path.abspath(root)), "manifest.json"), "w") as f:
    json.dump(manifest, f)
print(f"made {n} documents in {root}")
