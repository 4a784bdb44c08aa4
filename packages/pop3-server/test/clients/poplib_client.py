"""Drives the yubin POP3 server with Python's poplib (an independent client); prints JSON."""
import json
import poplib
import ssl
import sys

port = int(sys.argv[1])
mode = sys.argv[2]
out = {}


def texts(lines):
    return [line.decode() for line in lines]


if mode == "user":
    p = poplib.POP3("127.0.0.1", port, timeout=10)
    out["welcome"] = p.getwelcome().decode()
    out["capa"] = sorted(p.capa().keys())
    p.user("alice@yubin.test")
    p.pass_("alice-secret")
    out["stat"] = list(p.stat())
    out["list"] = texts(p.list()[1])
    out["uidl"] = texts(p.uidl()[1])
    out["top"] = texts(p.top(3, 1)[1])
    _, lines, octets = p.retr(2)
    out["retr"] = texts(lines)
    out["retr_octets"] = octets
    out["dele"] = p.dele(1).decode()
    out["quit"] = p.quit().decode()
elif mode == "apop":
    p = poplib.POP3("127.0.0.1", port, timeout=10)
    out["apop"] = p.apop("bob@yubin.test", "tanstaaf").decode()
    out["stat"] = list(p.stat())
    out["quit"] = p.quit().decode()
elif mode == "stls":
    p = poplib.POP3("127.0.0.1", port, timeout=10)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    out["stls"] = p.stls(context).decode()
    out["capa"] = sorted(p.capa().keys())
    p.user("alice@yubin.test")
    out["pass"] = p.pass_("alice-secret").decode()
    out["quit"] = p.quit().decode()
print(json.dumps(out))
