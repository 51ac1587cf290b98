#!/usr/bin/env python3
"""Writes the text seed corpora into corpus/<target>/: every message of the shared
examples (../shared/examples/client-messages.json) and a few the tests send, HTTP requests
like the tests' (tests/integration/http_test.cpp, http_strictness_test.cpp), Redis
replies of the commands the server uses, and RoomMachine byte programs. Run by hand:
tests/fuzz/make_seeds.py [examples.json]. (make_seeds.cpp writes the encoder-made ones.)"""
import json
import os
import random
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
examples = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "examples",
                                                              "client-messages.json")


def write(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


with open(examples) as f:
    for i, m in enumerate(json.load(f)["messages"]):
        write("command_parser", "example%02d_%s" % (i, m["msg"]["type"].lower()),
              json.dumps(m["msg"], separators=(",", ":")))
for name, text in {
    "seek": '{"type":"SEEK","currentTime":90.5,"isPlaying":true,"timestamp":1764254415000}',
    "ready": '{"type":"READY","targetTime":90.5}',
    "position": '{"type":"POSITION_UPDATE","currentTime":12,"isPlaying":false}',
    "transfer": '{"type":"TRANSFER_HOST","targetUserId":"user_3hd82mzt0p"}',
    "guest": '{"type":"TOGGLE_GUEST_CONTROL","enabled":true}',
    "sync": '{"type":"REQUEST_SYNC","respectAutoPlay":true}',
    "custom": '{"type":"REACTION","emoji":"\\ud83d\\ude00","nested":{"a":[1,2,{"b":null}]}}',
    "deep": '{"type":"X","a":' + "[" * 40 + "]" * 40 + "}",
    "escapes": '{"type":"UPDATE_USERNAME","username":"A\\u0000\\u202e\\ud800li\\tce"}',
    "not_object": '["JOIN"]',
}.items():
    write("command_parser", name, text)

for name, text in {
    "status_room": "GET /status?roomId=movie-night-42 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "status_page": "GET /status?limit=2&cursor=abc%2Fdef HTTP/1.1\r\nHost: x\r\n\r\n",
    "events": "GET /api/rooms/movie-night-42/events?limit=10 HTTP/1.1\r\nHost: x\r\n"
              "Authorization: Bearer 0123456789abcdef0123456789abcdef\r\n\r\n",
    "upgrade": "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "forwarded": "GET /health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n"
                 "X-Forwarded-For: [2001:db8::1]:443\r\n\r\n",
    "chunked": "POST /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
               "5\r\nhello\r\n0\r\n\r\n",
    "http10": "GET /metrics HTTP/1.0\r\n\r\n",
    "h2": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "pipelined": "GET /ready HTTP/1.1\r\nHost: x\r\n\r\nGET /demo HTTP/1.1\r\nHost: x\r\n\r\n",
    "body": "POST /api/short-ids HTTP/1.1\r\nHost: x\r\nContent-Length: 24\r\n\r\n"
            '{"roomId":"movie-night"}',
}.items():
    write("http_request", name, b"\x07" + text.encode())

for name, text in {
    "status": "+OK\r\n", "error": "-NOSCRIPT No matching script. Use EVAL.\r\n",
    "integer": ":42\r\n", "bulk": "$5\r\nhello\r\n", "nil": "$-1\r\n",
    "array": "*3\r\n$7\r\nmessage\r\n$6\r\nroom:r\r\n$3\r\nabc\r\n",
    "nested": "*2\r\n*2\r\n:1\r\n$-1\r\n*0\r\n", "nil_array": "*-1\r\n",
    "several": "+OK\r\n:1\r\n$3\r\nfoo\r\n-ERR wrong\r\n",
    "resp3": "%1\r\n+key\r\n,3.14\r\n",
}.items():
    write("redis_reply", name, b"\x03" + text.encode())

rng = random.Random(18)
for i in range(16):
    write("room_machine", "program%02d" % i, bytes(rng.randrange(256) for _ in range(64 + 32 * i)))
