#!/usr/bin/env python3
"""Device-side HTTP provisioning, written the way ThingsBoard's documentation has a device do it.

POSTs ThingsBoard's provision request to http://HOST:PORT/api/v1/provision with `requests`
and prints the JSON answer on one line of stdout, whatever its status (ThingsBoard device code
reads `status` rather than the HTTP code). With --credentials-file the answer is also saved
there on SUCCESS, so provision_mqtt.py can connect with it on its next start.

Exit status: 0 SUCCESS, 1 refused (NOT_FOUND / FAILURE), 2 no answer (network error, not JSON).

Only needs `requests`. Our own code, not ThingsBoard's: it follows their documented wire format.
"""
import argparse
import json
import sys

import requests


def build_request(args):
    """ThingsBoard's provision request; optional fields only when given."""
    request = {
        "provisionDeviceKey": args.key,
        "provisionDeviceSecret": args.secret,
    }
    if args.device_name:
        request["deviceName"] = args.device_name
    if args.credentials_type:
        request["credentialsType"] = args.credentials_type
    for field in ("token", "clientId", "username", "password", "hash"):
        value = getattr(args, field.lower())
        if value is not None:
            request[field] = value
    return request


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Provision a device over HTTP (ThingsBoard format)")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--key", required=True, help="the device profile's provision key")
    parser.add_argument("--secret", required=True, help="the device profile's provision secret")
    parser.add_argument("--device-name", help="omit to let the server choose a name")
    parser.add_argument(
        "--credentials-type",
        choices=["ACCESS_TOKEN", "MQTT_BASIC", "X509_CERTIFICATE"],
        help="omit for a server-generated access token",
    )
    parser.add_argument("--token", help="ACCESS_TOKEN chosen by the device")
    parser.add_argument("--client-id", dest="clientid", help="MQTT_BASIC client id")
    parser.add_argument("--username", help="MQTT_BASIC user name")
    parser.add_argument("--password", help="MQTT_BASIC password")
    parser.add_argument("--hash", help="X509_CERTIFICATE: the certificate (PEM) or its SHA-256")
    parser.add_argument("--credentials-file", help="save the SUCCESS answer here")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    url = "http://%s:%d/api/v1/provision" % (args.host, args.port)
    try:
        response = requests.post(url, json=build_request(args), timeout=args.timeout)
        answer = response.json()
    except (requests.RequestException, ValueError) as err:
        print("provisioning request failed: %s" % err, file=sys.stderr)
        return 2
    print("HTTP %d" % response.status_code, file=sys.stderr)
    print(json.dumps(answer))
    if answer.get("status") != "SUCCESS":
        return 1
    if args.credentials_file:
        with open(args.credentials_file, "w") as f:
            json.dump(answer, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
