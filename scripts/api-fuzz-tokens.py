"""Logs in a demo candidate (changing the initial password first) and the bootstrap
operator of a server started by scripts/api-fuzz.sh; prints both access tokens."""
import json
import re
import sys
import urllib.request

BASE, OUTPUT = sys.argv[1], sys.argv[2]
CAPTCHA_ANSWER = "fuzz42"


def post(path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def login(path, body):
    captcha = post("/api/v1/auth/captcha", {})
    body = {**body, "captcha_id": captcha["captcha_id"], "captcha_answer": CAPTCHA_ANSWER}
    return post(path, body)["access_token"]


with open(OUTPUT, encoding="utf-8") as f:
    id_number, initial = re.search(r"^\s+\S+\s+(\d{17}[\dX])\s+initial password (\S+)$", f.read(), re.M).groups()
first = login("/api/v1/auth/login", {"id_number": id_number, "password": initial})
post("/api/v1/auth/password", {"old_password": initial, "new_password": "Fuzzing2026"}, first)
candidate = login("/api/v1/auth/login", {"id_number": id_number, "password": "Fuzzing2026"})
operator = login("/api/v1/admin/login", {"username": "admin", "password": "Admin12345"})
print(candidate, operator)
