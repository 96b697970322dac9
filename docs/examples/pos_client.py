#!/usr/bin/env python3
"""pos_client.py - a point-of-sale client for pointcleard in plain Python.

A worked example for docs/INTEGRATION.md, run by the integration test
tests/integration/example_python.sh. It needs Python 3 and, for Ed25519, the
`cryptography` package (Debian: python3-cryptography); no protoc, no generated
code. It:

  1. encodes an EARN and a REDEEM in canonical protobuf by hand, signs each
     with the merchant's Ed25519 key over its DSSE pre-authentication encoding,
     and writes each SUBMIT body to a spool directory before it is sent;
  2. sends them over mutual TLS 1.3 and reads each SUBMIT_RESULT;
  3. checks every receipt: the operator's signature over its tree head, the
     inclusion path from the receipt's leaf to the head's root, and the ledger
     leaf hash against the bytes this client sent;
  4. sends the EARN's spooled bytes again, as a POS does for a request left
     unanswered, and shows that the answer is the original receipt, byte for
     byte (REPLAYED).

usage: pos_client.py --home HOME --alliance A --merchant M --member ID
                     [--merchant-dir DIR] [--server 127.0.0.1:7443]
                     [--prefix EVENT_ID_PREFIX] [--spool DIR]
       pos_client.py --check-vectors proto/testvectors/signing.json
HOME holds the operator's public material `pointclear init` made
(tls/ca.crt, operator/receipt.pub); DIR the merchant's sign.key, client.crt
and client.key (default ADMIN/alliances/A/merchants/M, where the quick path of
`pointclear merchant add` puts them, ADMIN being $POINTCLEAR_ADMIN_HOME or
HOME-admin as for pointclear; see docs/KEYS.md).
The second form runs the receipt checks on the protocol's test vectors, and
decides each member authorization vector (PROTOCOL.md, "Member authorization")
as the clearing house must, with this file's own encoding and Ed25519.
"""
import argparse
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding, PublicFormat, load_pem_private_key, load_pem_public_key)

SUBMIT, SUBMIT_RESULT, PROTOCOL_ERROR = 0x01, 0x81, 0xE0
EVENT_TYPE = b"application/vnd.pointclear.event.v1+protobuf"
TREE_TYPE = b"application/vnd.pointclear.receipt-tree.v1+protobuf"
AUTH_TYPE = b"application/vnd.pointclear.member-authorization.v1+protobuf"
DISPOSITIONS = {1: "RECORDED", 2: "REPLAYED", 3: "REJECTED", 4: "RETRYABLE"}
STATUSES = {0: "-", 1: "APPROVED", 2: "DECLINED"}


# ------------------------------------------------------------ protobuf, by hand
# Writing: the canonical form the daemon demands. Fields in ascending number
# order, a field at its default value (0, "") left out, varints minimal.

def varint(n):
    n &= (1 << 64) - 1          # int64 below zero: ten bytes, two's complement
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_varint(num, value):
    return varint(num << 3) + varint(value) if value else b""


def field_bytes(num, value):
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value if value else b""


# Reading: lenient, as a client should read answers. Unknown fields are skipped,
# so a later protocol revision that adds fields does not break this client.

def parse(buf):
    fields, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        fields.setdefault(num, []).append(value)
    return fields


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def one(fields, num, default):
    return fields.get(num, [default])[-1]


def signed64(n):
    return n - (1 << 64) if n >= 1 << 63 else n


# ------------------------------------------------------------ events and signing

def pae(type_, body):
    return b"DSSEv1 %d %s %d %s" % (len(type_), type_, len(body), body)


def event_payload(args, event_id, kind, points, reason):
    body = (field_bytes(1, args.member) + field_varint(2, points) +
            field_bytes(3, reason))
    return (field_bytes(1, args.alliance) + field_bytes(2, args.merchant) +
            field_bytes(3, event_id) +
            field_varint(4, time.time_ns() // 1000) +     # the POS clock, in us
            field_bytes(5, "store-1") + field_bytes(6, "pos-1") +
            field_bytes({"earn": 10, "redeem": 11}[kind], body))


def key_id(public_key):
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8].hex()


def signed_event(payload, signing_key):
    signature = signing_key.sign(pae(EVENT_TYPE, payload))
    return (field_bytes(1, payload) + field_bytes(2, key_id(signing_key.public_key())) +
            field_bytes(3, signature))


def spool(directory, event_id, envelope):
    """The exact bytes, on disk before they go out: the one thing to resend."""
    path = os.path.join(directory, event_id + ".submit")
    with open(path + ".tmp", "wb") as f:
        f.write(envelope)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)
    return path


# ------------------------------------------------------------ frames

def send_frame(tls, type_, request_id, body):
    tls.sendall(struct.pack(">IBQ", 9 + len(body), type_, request_id) + body)


def read_exact(tls, n):
    buf = b""
    while len(buf) < n:
        chunk = tls.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def read_frame(tls):
    length, type_, request_id = struct.unpack(">IBQ", read_exact(tls, 13))
    return type_, request_id, read_exact(tls, length - 9)


# ------------------------------------------------------------ receipts

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(leaf, index, size, path):
    """RFC 9162, 2.1.3.2: the root an inclusion path leads to, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def ledger_leaf_hash(body, envelope):
    """PROTOCOL.md, "Leaf": what the entry's leaf hash must be for these bytes."""
    d = parse(one(body, 7, b""))
    decision = struct.pack(">BH5q", one(d, 1, 0), one(d, 2, 0),
                           *(signed64(one(d, n, 0)) for n in range(3, 8)))
    alliance = one(body, 1, b"")
    leaf = (b"PCL1" + struct.pack(">H", len(alliance)) + alliance +
            struct.pack(">Qq", one(body, 2, 0), signed64(one(body, 4, 0))) +
            struct.pack(">I", len(envelope)) + envelope + decision +
            struct.pack(">I", 0))
    return leaf_hash(leaf)


def check_receipt(receipt_bytes, operator_key, envelope):
    receipt = parse(receipt_bytes)
    head_bytes = one(receipt, 4, b"")
    body_bytes = one(receipt, 1, b"")
    # 1. the operator's signature over the head's exact bytes
    operator_key.verify(one(receipt, 3, b""), pae(TREE_TYPE, head_bytes))
    # 2. the body names the head's alliance and a sequence inside the tree
    head, body = parse(head_bytes), parse(body_bytes)
    first, size = one(head, 2, 0), one(head, 3, 0)
    sequence = one(body, 2, 0)
    if one(body, 1, b"") != one(head, 1, b"") or not first <= sequence < first + size:
        raise ValueError("receipt body outside its tree")
    # 3. the body's leaf, up the inclusion path, to the signed root
    path = receipt.get(5, [])
    if root_from_path(leaf_hash(body_bytes), sequence - first, size, path) != one(head, 4, b""):
        raise ValueError("inclusion path does not reach the signed root")
    # and the ledger entry is the one for the bytes this client sent
    if envelope is not None and one(body, 3, b"") != ledger_leaf_hash(body, envelope):
        raise ValueError("ledger leaf hash is not that of the bytes sent")
    return body, first, size, len(path)


# ------------------------------------------------------------ the session

def submit(tls, request_id, envelope, attempts=10):
    """One SUBMIT and its answer; RETRYABLE means: the same bytes again, later."""
    for _ in range(attempts):
        send_frame(tls, SUBMIT, request_id, envelope)
        type_, rid, body = read_frame(tls)
        if type_ == PROTOCOL_ERROR:
            err = parse(body)
            raise RuntimeError("protocol error %d: %s" % (one(err, 1, 0), one(err, 2, b"").decode()))
        if type_ != SUBMIT_RESULT or rid != request_id:
            raise RuntimeError("unexpected frame 0x%02x for request %d" % (type_, rid))
        result = parse(body)
        if DISPOSITIONS.get(one(result, 1, 0)) != "RETRYABLE":
            return result
        time.sleep(0.5)
    raise RuntimeError("still RETRYABLE after %d attempts" % attempts)


def auth_body(alliance, member, merchant, max_points, expires_at_us, nonce):
    """A MemberAuthorization, canonical: what a member's app signs."""
    return (field_bytes(1, alliance) + field_bytes(2, member) + field_bytes(3, merchant) +
            field_varint(4, max_points) + field_varint(5, expires_at_us) +
            field_bytes(6, nonce))


def auth_verdict(sa_bytes, event, devices, clock_us):
    """The clearing house's checks of an authorization, in PROTOCOL.md's order;
    event is (alliance, merchant, member, points), devices maps a registered
    key id to (member, public key)."""
    sa = parse(sa_bytes)
    body, kid, sig = one(sa, 1, b""), one(sa, 2, b""), one(sa, 3, b"")
    # both messages must be their own canonical encoding
    if field_bytes(1, body) + field_bytes(2, kid) + field_bytes(3, sig) != sa_bytes:
        return "MEMBER_AUTH_INVALID"
    device = devices.get(kid.decode())
    if device is None or device[0] != event[2] or len(sig) != 64 or not body:
        return "MEMBER_AUTH_INVALID"
    try:
        device[1].verify(sig, pae(AUTH_TYPE, body))
    except InvalidSignature:
        return "MEMBER_AUTH_INVALID"
    f = parse(body)
    names = [one(f, n, b"") for n in (1, 2, 3)]
    max_points, expires = signed64(one(f, 4, 0)), signed64(one(f, 5, 0))
    nonce = one(f, 6, b"")
    if auth_body(*names, max_points, expires, nonce) != body or len(nonce) != 16:
        return "MEMBER_AUTH_INVALID"
    if names != [event[0], event[2], event[1]]:
        return "MEMBER_AUTH_MISMATCH"
    if clock_us > expires or expires - clock_us > 3600 * 10**6:
        return "MEMBER_AUTH_EXPIRED"
    if event[3] > max_points:
        return "MEMBER_AUTH_EXCEEDED"
    return "OK"


def check_auth_vectors(vectors, merchant_keys):
    """Every member authorization case: its body from its fields, the PAE, the
    verdict, and the merchant's signature over the event that carries it."""
    v = vectors["member_authorizations"]
    devices = {}
    for k in v["device_keys"]:
        if "member_id" in k:
            devices[k["key_id"]] = (k["member_id"].encode(), Ed25519PublicKey.from_public_bytes(
                bytes.fromhex(k["public_key"])))
    merchant_key = merchant_keys[v["merchant_key_id"]]
    accepted = refused = 0
    for c in v["cases"]:
        body = bytes.fromhex(c["body"])
        if pae(AUTH_TYPE, body) != bytes.fromhex(c["pae"]):
            raise SystemExit("vector %s: PAE differs" % c["name"])
        f = c.get("member_authorization")
        if f is not None and auth_body(f["alliance_id"], f["member_id"], f["merchant_id"],
                                       int(f["max_points"]), int(f["expires_at_us"]),
                                       bytes.fromhex(f["nonce"])) != body:
            raise SystemExit("vector %s: body is not its fields' encoding" % c["name"])
        env = parse(bytes.fromhex(c["envelope"]))
        payload = one(env, 1, b"")
        merchant_key.verify(one(env, 3, b""), pae(EVENT_TYPE, payload))
        ev = parse(payload)
        spend = parse(one(ev, 11, one(ev, 12, b"")))
        event = (one(ev, 1, b""), one(ev, 2, b""), one(spend, 1, b""), one(spend, 2, 0))
        sa = bytes.fromhex(c["authorization"])
        if one(ev, 8, b"") != sa:
            raise SystemExit("vector %s: the event does not carry the authorization" % c["name"])
        got = auth_verdict(sa, event, devices, int(v["clock_us"]))
        if got != c["code"]:
            raise SystemExit("vector %s: %s, the vector says %s" % (c["name"], got, c["code"]))
        accepted += got == "OK"
        refused += got != "OK"
    return accepted, refused


def check_vectors(path):
    """The receipt checks above against proto/testvectors/signing.json: trees of
    1, 3 and 7 receipts must pass, every receipt listed as refused must fail;
    then every member authorization vector is decided (check_auth_vectors)."""
    with open(path) as f:
        everything = json.load(f)
    vectors = everything["receipt_trees"]
    operator_key = Ed25519PublicKey.from_public_bytes(
        bytes.fromhex(vectors["operator_key"]["public_key"]))
    passed = refused = 0
    for tree in vectors["trees"]:
        for r in tree["receipts"]:
            check_receipt(bytes.fromhex(r["receipt"]), operator_key, bytes.fromhex(r["envelope"]))
            passed += 1
    for r in vectors["refused"]:
        try:
            check_receipt(bytes.fromhex(r["receipt"]), operator_key, None)
        except (InvalidSignature, ValueError):
            refused += 1
            continue
        raise SystemExit("vector %s: accepted, must be refused" % r["name"])
    print("vectors ok: %d receipts checked, %d refused" % (passed, refused))
    merchant_keys = {k["key_id"]: Ed25519PublicKey.from_public_bytes(
        bytes.fromhex(k["public_key"])) for k in everything["keys"]}
    print("authorization vectors ok: %d accepted, %d refused with their codes" %
          check_auth_vectors(everything, merchant_keys))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check-vectors", metavar="SIGNING_JSON")
    ap.add_argument("--home")
    ap.add_argument("--alliance")
    ap.add_argument("--merchant")
    ap.add_argument("--member")
    ap.add_argument("--merchant-dir")
    ap.add_argument("--server", default="127.0.0.1:7443")
    ap.add_argument("--prefix", default="py-%d" % time.time_ns())
    ap.add_argument("--spool", default="pos-spool")
    args = ap.parse_args()
    if args.check_vectors:
        return check_vectors(args.check_vectors)
    if not (args.home and args.alliance and args.merchant and args.member):
        ap.error("--home, --alliance, --merchant and --member are required")

    admin = os.environ.get("POINTCLEAR_ADMIN_HOME") or args.home.rstrip("/") + "-admin"
    mdir = args.merchant_dir or os.path.join(
        admin, "alliances", args.alliance, "merchants", args.merchant)
    with open(os.path.join(mdir, "sign.key"), "rb") as f:
        signing_key = load_pem_private_key(f.read(), password=None)
    with open(os.path.join(args.home, "operator", "receipt.pub"), "rb") as f:
        operator_key = load_pem_public_key(f.read())
    os.makedirs(args.spool, exist_ok=True)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(os.path.join(args.home, "tls", "ca.crt"))
    ctx.load_cert_chain(os.path.join(mdir, "client.crt"), os.path.join(mdir, "client.key"))
    host, port = args.server.rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=30)
    tls = ctx.wrap_socket(raw, server_hostname=host)

    sent = {}
    steps = [("earn", 120, "welcome"), ("redeem", 50, "coffee")]
    for request_id, (kind, points, reason) in enumerate(steps, start=1):
        event_id = "%s-%s" % (args.prefix, kind)
        envelope = signed_event(event_payload(args, event_id, kind, points, reason), signing_key)
        path = spool(args.spool, event_id, envelope)
        result = submit(tls, request_id, envelope)
        disposition = DISPOSITIONS.get(one(result, 1, 0), "?")
        if disposition not in ("RECORDED", "REPLAYED"):
            print("%s %s %s code=%d %s" % (kind, event_id, disposition, one(result, 2, 0),
                                           one(result, 3, b"").decode()))
            return 1
        receipt = one(result, 4, b"")
        body, first, size, hashes = check_receipt(receipt, operator_key, envelope)
        d = parse(one(body, 7, b""))
        print("%s %s %s %s seq=%d balance=%d available=%d" % (
            kind, event_id, disposition, STATUSES.get(one(d, 1, 0), "?"), one(body, 2, 0),
            signed64(one(d, 3, 0)), signed64(one(d, 4, 0))))
        print("receipt ok: tree of %d from seq %d signed by the operator, "
              "inclusion path of %d hashes, leaf hash of the bytes sent" % (size, first, hashes))
        sent[kind] = (path, receipt)

    # The answer to the EARN is lost, say: resend the spooled bytes, unchanged.
    path, first_receipt = sent["earn"]
    with open(path, "rb") as f:
        envelope = f.read()
    result = submit(tls, len(steps) + 1, envelope)
    disposition = DISPOSITIONS.get(one(result, 1, 0), "?")
    same = one(result, 4, b"") == first_receipt
    print("resent earn: %s, receipt %s" % (
        disposition, "identical byte for byte" if same else "DIFFERENT"))
    tls.close()
    return 0 if disposition == "REPLAYED" and same else 1


if __name__ == "__main__":
    sys.exit(main())
