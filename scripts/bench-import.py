#!/usr/bin/env python3
"""Import benchmark: times POST /api/v1/admin/candidates/import with N generated
candidates (CSV, two fee items each) against a running `examfee serve`, first as new
rows and then again as updates. Prints rows per second for both.

  scripts/bench-import.sh [N]      builds, starts ExamFee on a fresh database, runs this
"""
import datetime
import json
import sys
import time
import urllib.request

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(n):
    birth = datetime.date(1990, 1, 1) + datetime.timedelta(days=n // 1000)
    first17 = f"310104{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def call(base, path, body, token=None, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST")
    request.add_header("content-type", content_type)
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read() or b"null")


def main():
    base, count, admin, captcha_answer = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    username, password = admin.split(":", 1)
    captcha = call(base, "/api/v1/auth/captcha", {})
    token = call(base, "/api/v1/admin/login", {"username": username, "password": password,
                 "captcha_id": captcha["captcha_id"], "captcha_answer": captcha_answer})["access_token"]
    lines = ["id_number,name,phone,fee_item_codes"]
    lines += [f"{id_number(n)},考生{n},138{n % 100_000_000:08d},GK2026-REG;GK2026-EXAM" for n in range(count)]
    body = ("\n".join(lines) + "\n").encode()
    for label in ("new", "update"):
        started = time.perf_counter()
        report = call(base, "/api/v1/admin/candidates/import", body, token, "text/csv")
        seconds = time.perf_counter() - started
        assert not report["errors"], report["errors"][:3]
        print(f"{label:>6}: {count} rows in {seconds:.2f} s = {count / seconds:,.0f} rows/s "
              f"(imported {report['imported']}, updated {report['updated']})")


if __name__ == "__main__":
    main()
