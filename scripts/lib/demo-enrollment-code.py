"""Creates an enrollment code for the demo's assisted living facility and prints it.

scripts/run.sh uses it so the app's first-run setup can be completed right
away. Reads API_BASE and TEND_DEMO_PASSWORD from the environment; signs in as
the seeded platform administrator. The code is printed once, never stored.
"""

import json
import os
import sys
import urllib.error
import urllib.request

BASE = os.environ["API_BASE"]


def call(path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    request = urllib.request.Request(
        BASE + path,
        method="GET" if body is None else "POST",
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def main():
    try:
        login = {"username": "demo.platform", "password": os.environ["TEND_DEMO_PASSWORD"]}
        token = call("/api/auth/login", login)["token"]
        facilities = call("/api/facilities?limit=200", token=token)["items"]
        # A care facility (the demo's assisted living campus), not the
        # platform operator's own site.
        facility = min(facilities, key=lambda f: (f["facility_type"] != "ALF", f["id"]))
        created = call(
            f"/api/facilities/{facility['id']}/enrollment-codes",
            {"expires_in_hours": 24, "max_uses": 5},
            token,
        )
    except (urllib.error.URLError, KeyError, ValueError) as error:
        print(f"demo-enrollment-code: {error}", file=sys.stderr)
        return 1
    print(f"{created['code']}   (for {facility['name']}; up to 5 devices, valid 24 h)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
