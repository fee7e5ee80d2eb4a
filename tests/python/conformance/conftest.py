"""Fixtures of the conformance suite: the emulator, started through the real binary, and the
official SDK clients pointed at it.

The emulator is `flinkform sim serve --port 0` run in a temporary working directory (its world
file lives there), with the binary named by the environment variable FLINKFORM_BIN (the Rust
test in crates/flinkform-cli/tests/e2e/conformance.rs passes the freshly built one). Before it
starts, `flinkform sim console set-balance` gives the account `poor` a balance too low for a
pay-as-you-go workspace. Every SDK client is the official one, configured only with the
emulator's endpoint and `http`.

The `raw` fixture records every JSON document the Tea SDKs parse (success and error bodies), so
tests can compare the wire answer with what the SDK's model made of it (`sdkcheck.sdk_ok`).
"""

import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time

import oss2
import pytest
from alibabacloud_tea_openapi import models as open_api_models
from darabonba.utils.stream import Stream as DaraStream
from sdkcheck import REGION, wait_for

# Cloud seconds per wall-clock second: provisioning (5-10 cloud minutes) takes 1-2 s, a
# one-month subscription still lasts over an hour of wall time.
TIME_SCALE = "300"
START_TIMEOUT_S = 20


class Account:
    """An emulated account's name, uid and AccessKey."""

    def __init__(self, name, uid, access_key_id, access_key_secret):
        self.name = name
        self.uid = uid
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret


class Sim:
    """A running emulator: `endpoint` is `127.0.0.1:PORT`, `accounts` by name, `printed` the
    stdout of each console command run before it started."""

    def __init__(self, endpoint, accounts, workdir, printed=()):
        self.endpoint = endpoint
        self.accounts = accounts
        self.workdir = workdir
        self.printed = list(printed)

    @property
    def url(self):
        return "http://" + self.endpoint

    def config(self, account="main", secret=None):
        """The official SDKs' Config for `account`: only endpoint and protocol differ from a
        real setup."""
        a = self.accounts[account]
        return open_api_models.Config(
            access_key_id=a.access_key_id,
            access_key_secret=secret if secret is not None else a.access_key_secret,
            endpoint=self.endpoint,
            protocol="http",
            region_id=REGION,
        )


def flinkform_bin():
    path = os.environ.get("FLINKFORM_BIN")
    if not path:
        pytest.exit("FLINKFORM_BIN must name the flinkform binary", returncode=2)
    # The emulator runs in a temporary directory: a relative path must not depend on it.
    return os.path.abspath(path)


def _read_lines(stream, q):
    for line in stream:
        q.put(line)
    q.put(None)


class Running:
    """An emulator process started by `start_sim`."""

    def __init__(self, sim, proc, workdir):
        self.sim = sim
        self.proc = proc
        self.workdir = workdir

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.workdir.cleanup()


def start_sim(accounts, time_scale, balances=None, console=()):
    """Starts `flinkform sim serve --port 0` for `accounts` in a fresh directory, after giving
    the accounts in `balances` (name -> amount) their balance with `sim console set-balance`
    and running the `sim console` commands in `console` (lists of arguments), whose stdout
    lands in `Sim.printed`."""
    binary = flinkform_bin()
    workdir = tempfile.TemporaryDirectory(prefix="flinkform-conformance-")
    env = dict(os.environ, NO_COLOR="1", FLINKFORM_SIM_TIME_SCALE=str(time_scale))
    for var in ("FLINKFORM_SIM_WORLD", "FLINKFORM_STATE", "FLINKFORM_CLOUD", "FLINKFORM_SIM_FAULTS", "FLINKFORM_SIM_ENDPOINT"):
        env.pop(var, None)
    for name, amount in (balances or {}).items():
        done = subprocess.run(
            [binary, "sim", "console", "set-balance", str(amount), "--account", name],
            cwd=workdir.name,
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr
    printed = []
    for command in console:
        done = subprocess.run(
            [binary, "sim", "console", *command],
            cwd=workdir.name,
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr
        printed.append(done.stdout.strip())
    args = [binary, "sim", "serve", "--port", "0"]
    for name in accounts:
        args += ["--account", name]
    # stderr goes to a file: an unread pipe could fill up and stall the emulator.
    log_path = os.path.join(workdir.name, "serve.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, cwd=workdir.name, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    lines = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    endpoint = None
    found = {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while endpoint is None or len(found) < len(accounts):
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            proc.kill()
            with open(log_path) as log:
                pytest.fail(f"`flinkform sim serve` did not start: {log.read()}")
        m = re.match(r"endpoint http://(\S+)", line.strip())
        if m:
            endpoint = m.group(1)
        m = re.match(r"account (\S+): uid (\d+) access key id (\S+) secret (\S+)", line.strip())
        if m:
            found[m.group(1)] = Account(*m.groups())
    return Running(Sim(endpoint, found, workdir.name, printed), proc, workdir)


# The suite's accounts: `main` does the everyday work; `poor` has USD 50 (too little for a
# pay-as-you-go workspace); `fresh` is only used to open OSS once; `bare` never activates
# anything; `norole` has OSS but no Flink service role.
ACCOUNTS = ["main", "poor", "fresh", "bare", "norole"]


# Made before the emulator starts (console commands change the world file): `main` gets an
# extra resource group, `Sim.printed[1]` is its id.
SETUP = [
    ["create-account", "main"],
    ["create-resource-group", "conformance-team", "--account", "main"],
    # `Sim.printed[2]`: the ARN of `main`'s OIDC provider (test_sts.py).
    [
        "create-oidc-provider",
        "conformance-idp",
        "--issuer-url",
        "https://idp.conformance.example",
        "--client-id",
        "conformance",
        "--account",
        "main",
    ],
]


@pytest.fixture(scope="session")
def sim():
    running = start_sim(ACCOUNTS, TIME_SCALE, balances={"poor": "50"}, console=SETUP)
    yield running.sim
    running.stop()


@pytest.fixture(scope="session")
def team_group(sim):
    """The id of `main`'s resource group `conformance-team`."""
    return sim.printed[1]


@pytest.fixture
def raw(monkeypatch):
    """Every JSON document the Tea SDKs parse during the test, in order."""
    seen = []
    original = DaraStream.read_as_json

    def recording(stream):
        value = original(stream)
        seen.append(value)
        return value

    monkeypatch.setattr(DaraStream, "read_as_json", staticmethod(recording))
    return seen


# ------------------------------------------------------------------ clients


class Clients:
    """The official clients of one account, pointed at the emulator."""

    def __init__(self, sim, account="main", secret=None):
        from alibabacloud_bssopenapi20171214.client import Client as BssClient
        from alibabacloud_foasconsole20211028.client import Client as FoasClient
        from alibabacloud_ram20150501.client import Client as RamClient
        from alibabacloud_resourcemanager20200331.client import Client as RmClient
        from alibabacloud_sts20150401.client import Client as StsClient
        from alibabacloud_vpc20160428.client import Client as VpcClient
        from aliyunsdkcore.client import AcsClient

        cfg = lambda: sim.config(account, secret)  # noqa: E731 (each client owns its Config)
        a = sim.accounts[account]
        self.sim = sim
        self.account = a
        self.foas = FoasClient(cfg())
        self.vpc = VpcClient(cfg())
        self.ram = RamClient(cfg())
        self.bss = BssClient(cfg())
        self.sts = StsClient(cfg())
        self.rm = RmClient(cfg())
        # The legacy core SDK signs RPC calls with HMAC-SHA1 (like Terraform's provider).
        self.legacy = AcsClient(a.access_key_id, secret if secret is not None else a.access_key_secret, REGION)
        self.oss_auth = oss2.Auth(a.access_key_id, secret if secret is not None else a.access_key_secret)

    def legacy_request(self, version, action, params=None, method="POST"):
        """A legacy (HMAC-SHA1) RPC request to the emulator, as `aliyun-python-sdk-core`'s
        CommonRequest builds it."""
        from aliyunsdkcore.request import CommonRequest

        req = CommonRequest(domain=self.sim.endpoint, version=version, action_name=action)
        req.set_protocol_type("http")
        req.set_method(method)
        req.set_accept_format("json")
        for k, v in (params or {}).items():
            req.add_query_param(k, v)
        return req

    def legacy_call(self, version, action, params=None, method="POST"):
        """Runs a legacy request; returns the parsed JSON answer."""
        body = self.legacy.do_action_with_exception(self.legacy_request(version, action, params, method))
        return json.loads(body)

    def bucket(self, name):
        """An oss2 Bucket (V1 signature, path-style on the IP endpoint)."""
        return oss2.Bucket(self.oss_auth, self.sim.url, name)

    def oss_service(self):
        return oss2.Service(self.oss_auth, self.sim.url)


@pytest.fixture(scope="session")
def main(sim):
    return Clients(sim, "main")


FLINK_ROLE = "AliyunStreamAsiDefaultRole"
FLINK_POLICY = "AliyunStreamAsiDefaultRolePolicy"
TRUST = json.dumps(
    {
        "Statement": [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["stream.aliyuncs.com"]}}
        ],
        "Version": "1",
    }
)


def open_oss(c):
    """Opens OSS for the account of `c` (already open is fine, as for flinkform)."""
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    try:
        c.legacy_call("2019-04-22", "OpenOssService")
    except ServerException as e:
        assert e.get_error_code() == "ORDER.OPEND", e


def prepare(c, bucket, with_role=True, cidr="10.0.0.0/16"):
    """Everything CreateInstance checks, through the official SDKs: OSS opened, a bucket, the
    Flink service role with its policy, a VPC and a vSwitch. Returns (vpc_id, vswitch_id)."""
    from alibabacloud_ram20150501 import models as ram_models
    from alibabacloud_vpc20160428 import models as vpc_models

    open_oss(c)
    c.bucket(bucket).create_bucket()
    if with_role:
        c.ram.create_role(ram_models.CreateRoleRequest(role_name=FLINK_ROLE, assume_role_policy_document=TRUST))
        c.ram.attach_policy_to_role(
            ram_models.AttachPolicyToRoleRequest(policy_type="System", policy_name=FLINK_POLICY, role_name=FLINK_ROLE)
        )
    vpc_id = c.vpc.create_vpc(vpc_models.CreateVpcRequest(region_id=REGION, cidr_block=cidr, vpc_name="flink")).body.vpc_id
    vsw_id = c.vpc.create_vswitch(
        vpc_models.CreateVSwitchRequest(
            region_id=REGION, vpc_id=vpc_id, zone_id=REGION + "a", cidr_block=cidr.replace("0.0/16", "1.0/24")
        )
    ).body.v_switch_id
    return vpc_id, vsw_id


class Network:
    """A prepared account's network and bucket."""

    def __init__(self, vpc_id, vswitch_id, bucket):
        self.vpc_id = vpc_id
        self.vswitch_id = vswitch_id
        self.bucket = bucket


@pytest.fixture(scope="session")
def main_net(main):
    vpc_id, vsw_id = prepare(main, "conformance-main-state")
    return Network(vpc_id, vsw_id, "conformance-main-state")


def create_workspace(c, net, name, charge, cpu=4, **extra):
    """CreateInstance through the SDK (subscription: `cpu` CU for one month)."""
    from alibabacloud_foasconsole20211028 import models as foas_models

    req = foas_models.CreateInstanceRequest(
        region=REGION,
        instance_name=name,
        charge_type=charge,
        vpc_id=net.vpc_id,
        v_switch_ids=[net.vswitch_id],
        storage=foas_models.CreateInstanceRequestStorage(oss=foas_models.CreateInstanceRequestStorageOss(bucket=net.bucket)),
        **extra,
    )
    if charge == "PRE":
        req.resource_spec = foas_models.CreateInstanceRequestResourceSpec(cpu=cpu, memory_gb=4 * cpu)
        req.pricing_cycle = "Month"
        req.duration = 1
    return c.foas.create_instance(req).body.order_info.instance_id


def describe_instance(c, instance_id):
    from alibabacloud_foasconsole20211028 import models as foas_models

    found = c.foas.describe_instances(
        foas_models.DescribeInstancesRequest(region=REGION, instance_id=instance_id)
    ).body.instances
    return found[0] if found else None


def wait_status(c, instance_id, status):
    return wait_for(
        f"workspace {instance_id} {status}",
        lambda: (lambda i: i if i is not None and i.cluster_status == status else None)(describe_instance(c, instance_id)),
    )


@pytest.fixture(scope="session")
def pre_workspace(main, main_net):
    """A RUNNING subscription workspace of 8 CU in `main`."""
    instance_id = create_workspace(main, main_net, "conformance-pre", "PRE", cpu=8)
    wait_status(main, instance_id, "RUNNING")
    return instance_id
