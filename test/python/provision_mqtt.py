#!/usr/bin/env python3
"""Device-side MQTT provisioning, written the way ThingsBoard's documentation has a device do it.

1. Unless --credentials-file names an existing file (credentials from an earlier run, as
   ThingsBoard's example keeps them), connect to the broker with user name `provision`,
   subscribe to /provision/response, publish the JSON request to /provision/request, wait for
   the answer, disconnect. The answer is printed as one JSON line on stdout (and saved to
   --credentials-file on SUCCESS).
2. Reconnect with the credentials obtained: an ACCESS_TOKEN as the user name, or MQTT_BASIC
   client id / user name / password. Publish telemetry to v1/devices/me/telemetry at QoS 1 and
   wait for the broker's PUBACK, then print `telemetry published` and disconnect.

Exit status: 0 success, 1 provisioning refused (NOT_FOUND / FAILURE), 2 connection refused,
timeout or anything else unexpected.

Works with paho-mqtt 1.x and 2.x (2.0 added CallbackAPIVersion to the Client constructor and
changed the callback signatures). MQTT 3.1.1, plain TCP. Our own code, not ThingsBoard's: it
follows their documented wire format and topics.
"""
import argparse
import json
import os
import sys
import threading
import uuid

import paho.mqtt.client as mqtt

PROVISION_REQUEST_TOPIC = "/provision/request"
PROVISION_RESPONSE_TOPIC = "/provision/response"
TELEMETRY_TOPIC = "v1/devices/me/telemetry"


class Failed(Exception):
    """Ends the run with the given exit status."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


def new_client(client_id):
    """A paho client for MQTT 3.1.1, whatever the installed paho-mqtt version."""
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt >= 2.0
        return mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
    return mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)


def code_of(reason):
    """CONNACK / SUBACK codes: an int in paho 1.x, a ReasonCode in 2.x."""
    return getattr(reason, "value", reason)


class Session:
    """One MQTT connection driven by paho's network thread, with events the main thread awaits."""

    def __init__(self, args, client_id, username=None, password=None):
        self.args = args
        self.client = new_client(client_id)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connected = threading.Event()
        self.done = threading.Event()
        self.connack = None
        self.connack_text = None
        self.error = None
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect

    # paho 1.x: (client, userdata, flags, rc); 2.x: (client, userdata, flags, reason_code, properties)
    def on_connect(self, client, userdata, flags, rc, *rest):
        self.connack = code_of(rc)
        # paho 2.x: a ReasonCode that prints its name; 1.x: an int that connack_string names.
        self.connack_text = str(rc) if hasattr(rc, "value") else mqtt.connack_string(rc)
        self.connected.set()

    # paho 1.x: (client, userdata, rc); 2.x: (client, userdata, flags, reason_code, properties)
    def on_disconnect(self, client, userdata, *rest):
        if not self.done.is_set():
            self.error = self.error or "the broker closed the connection"
            self.done.set()
        self.connected.set()

    def open(self):
        try:
            self.client.connect(self.args.host, self.args.port, keepalive=60)
        except OSError as err:
            raise Failed("cannot reach %s:%d: %s" % (self.args.host, self.args.port, err))
        self.client.loop_start()
        if not self.connected.wait(self.args.timeout):
            raise Failed("no CONNACK within %ss" % self.args.timeout)
        if self.connack != 0:
            raise Failed("connection refused: %s (%s)" % (self.connack_text, self.connack))

    def wait(self, what):
        if not self.done.wait(self.args.timeout):
            raise Failed("no %s within %ss" % (what, self.args.timeout))
        if self.error:
            raise Failed(self.error)

    def close(self):
        self.done.set()
        self.client.disconnect()
        self.client.loop_stop()


def provision_request(args):
    """ThingsBoard's provision request; optional fields only when given."""
    request = {
        "provisionDeviceKey": args.key,
        "provisionDeviceSecret": args.secret,
    }
    if args.device_name:
        request["deviceName"] = args.device_name
    if args.credentials_type:
        request["credentialsType"] = args.credentials_type
    for field, value in (
        ("token", args.token),
        ("clientId", args.client_id),
        ("username", args.username),
        ("password", args.password),
        ("hash", args.hash),
    ):
        if value is not None:
            request[field] = value
    return request


def provision(args):
    """Step 1: the provisioning session. Returns the decoded answer."""
    session = Session(args, client_id="", username="provision")
    answer = {}

    def on_subscribe(client, userdata, mid, granted, *rest):
        if any(code_of(g) >= 0x80 for g in granted):
            session.error = "subscription to %s refused" % PROVISION_RESPONSE_TOPIC
            session.done.set()
            return
        # Subscribed first, then ask: the answer can only arrive on our subscription.
        client.publish(PROVISION_REQUEST_TOPIC, json.dumps(provision_request(args)), qos=1)

    def on_message(client, userdata, msg):
        try:
            answer.update(json.loads(msg.payload.decode("utf-8")))
        except ValueError:
            session.error = "the answer is not JSON: %r" % msg.payload[:200]
        session.done.set()

    session.client.on_subscribe = on_subscribe
    session.client.on_message = on_message
    session.open()
    try:
        session.client.subscribe(PROVISION_RESPONSE_TOPIC, qos=1)
        session.wait("provisioning answer")
    finally:
        session.close()
    return answer


def connect_args(credentials):
    """(client id, user name, password) for the credentials in a SUCCESS answer."""
    kind = credentials.get("credentialsType")
    value = credentials.get("credentialsValue")
    if kind == "ACCESS_TOKEN":
        # The token is the MQTT user name; the client id is free.
        return "device-" + uuid.uuid4().hex[:12], value, None
    if kind == "MQTT_BASIC":
        return value.get("clientId") or "", value.get("userName"), value.get("password")
    raise Failed(
        "%s credentials connect over TLS with the device's certificate; not done by this script"
        % kind
    )


def publish_telemetry(args, credentials):
    """Step 2: connect as the device and publish one telemetry message at QoS 1."""
    client_id, username, password = connect_args(credentials)
    session = Session(args, client_id=client_id, username=username, password=password)

    # paho 1.x: (client, userdata, mid); 2.x: (client, userdata, mid, reason_code, properties)
    def on_publish(client, userdata, mid, *rest):
        session.done.set()

    session.client.on_publish = on_publish
    session.open()
    try:
        session.client.publish(TELEMETRY_TOPIC, args.telemetry, qos=1)
        session.wait("PUBACK for %s" % TELEMETRY_TOPIC)
    finally:
        session.close()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Provision a device over MQTT (ThingsBoard format)")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--key", help="the device profile's provision key")
    parser.add_argument("--secret", help="the device profile's provision secret")
    parser.add_argument("--device-name", help="omit to let the server choose a name")
    parser.add_argument(
        "--credentials-type",
        choices=["ACCESS_TOKEN", "MQTT_BASIC", "X509_CERTIFICATE"],
        help="omit for a server-generated access token",
    )
    parser.add_argument("--token", help="ACCESS_TOKEN chosen by the device")
    parser.add_argument("--client-id", help="MQTT_BASIC client id")
    parser.add_argument("--username", help="MQTT_BASIC user name")
    parser.add_argument("--password", help="MQTT_BASIC password")
    parser.add_argument("--hash", help="X509_CERTIFICATE: the certificate (PEM) or its SHA-256")
    parser.add_argument(
        "--credentials-file",
        help="read credentials from here if it exists (skipping provisioning), else save them here",
    )
    parser.add_argument("--telemetry", default='{"temperature": 25}', help="JSON to publish")
    parser.add_argument("--provision-only", action="store_true", help="stop after step 1")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per step")
    args = parser.parse_args(argv)
    has_file = args.credentials_file and os.path.exists(args.credentials_file)
    if not has_file and not (args.key and args.secret):
        parser.error("--key and --secret are required unless --credentials-file exists")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.credentials_file and os.path.exists(args.credentials_file):
            with open(args.credentials_file) as f:
                credentials = json.load(f)
        else:
            credentials = provision(args)
            print(json.dumps(credentials), flush=True)
            if credentials.get("status") != "SUCCESS":
                return 1
            if args.credentials_file:
                with open(args.credentials_file, "w") as f:
                    json.dump(credentials, f)
        if args.provision_only:
            return 0
        publish_telemetry(args, credentials)
        print("telemetry published", flush=True)
        return 0
    except Failed as err:
        print(str(err), file=sys.stderr)
        return err.status


if __name__ == "__main__":
    sys.exit(main())
