"""OSS buckets through the official OSS Python SDK (oss2, V1 signature, path-style requests to
the IP endpoint): PutBucket, GetBucketInfo, ListBuckets, DeleteBucket, success and error paths
as oss2's result and exception classes see them."""

import pytest
from conftest import Clients, open_oss
from oss2 import exceptions as oss_errors
from oss2.models import BucketInfo, SimplifiedBucketInfo

BUCKET = "conformance-oss"


def oss_error(cls, status, code, fn, *args):
    with pytest.raises(cls) as info:
        fn(*args)
    e = info.value
    assert (e.status, e.code) == (status, code), e
    assert e.request_id, "OSS errors carry x-oss-request-id"
    assert e.details.get("RequestId") == e.request_id
    assert e.details.get("HostId")
    return e


def test_bucket_lifecycle(main):
    bucket = main.bucket(BUCKET)
    oss_error(oss_errors.NoSuchBucket, 404, "NoSuchBucket", bucket.get_bucket_info)
    created = bucket.create_bucket()
    assert created.status == 200 and created.request_id
    assert created.headers.get("location") == f"/{BUCKET}"
    assert bucket.create_bucket().status == 200, "the same owner may PUT again"

    info = bucket.get_bucket_info()
    assert isinstance(info, BucketInfo)
    assert info.name == BUCKET
    assert info.location == "oss-ap-southeast-1"
    assert info.storage_class == "Standard"
    assert info.extranet_endpoint == "oss-ap-southeast-1.aliyuncs.com"
    assert info.intranet_endpoint == "oss-ap-southeast-1-internal.aliyuncs.com"
    assert info.creation_date.endswith("Z")
    assert info.owner.id == main.account.uid and info.owner.display_name
    assert info.acl.grant == "private"
    assert info.data_redundancy_type == "LRS"
    assert info.resource_group_id.startswith("rg-")
    assert (info.access_monitor, info.transfer_acceleration, info.cross_region_replication) == ("Disabled",) * 3
    assert info.bucket_encryption_rule is not None and info.bucket_encryption_rule.sse_algorithm is None

    service = main.oss_service()
    listed = service.list_buckets()
    assert listed.status == 200 and listed.is_truncated is False
    mine = [b for b in listed.buckets if b.name == BUCKET]
    assert len(mine) == 1
    b = mine[0]
    assert isinstance(b, SimplifiedBucketInfo)
    assert (b.location, b.region, b.storage_class) == ("oss-ap-southeast-1", "ap-southeast-1", "Standard")
    assert isinstance(b.creation_date, int), "oss2 parses CreationDate into a unix time"
    assert b.extranet_endpoint == "oss-ap-southeast-1.aliyuncs.com"

    deleted = bucket.delete_bucket()
    assert deleted.status == 204
    oss_error(oss_errors.NoSuchBucket, 404, "NoSuchBucket", bucket.delete_bucket)
    oss_error(oss_errors.NoSuchBucket, 404, "NoSuchBucket", bucket.get_bucket_info)


def test_list_buckets_paging(main):
    for n in range(3):
        main.bucket(f"conformance-page-{n}").create_bucket()
    service = main.oss_service()
    first = service.list_buckets(prefix="conformance-page-", max_keys=2)
    assert [b.name for b in first.buckets] == ["conformance-page-0", "conformance-page-1"]
    assert first.is_truncated is True and first.next_marker == "conformance-page-1"
    rest = service.list_buckets(prefix="conformance-page-", marker=first.next_marker, max_keys=2)
    assert [b.name for b in rest.buckets] == ["conformance-page-2"] and rest.is_truncated is False
    import oss2

    names = [b.name for b in oss2.BucketIterator(service, prefix="conformance-page-", max_keys=1)]
    assert names == ["conformance-page-0", "conformance-page-1", "conformance-page-2"]
    oss_error(oss_errors.InvalidArgument, 400, "InvalidArgument", service.list_buckets, "", "", 1001)


def test_bucket_errors(sim, main):
    # (oss2 refuses an invalid bucket name itself; the emulator's 400 InvalidBucketName is
    # covered from the Rust client's side.)
    main.bucket("conformance-taken").create_bucket()
    norole = Clients(sim, "norole")
    open_oss(norole)
    oss_error(oss_errors.ServerError, 409, "BucketAlreadyExists", norole.bucket("conformance-taken").create_bucket)
    oss_error(oss_errors.ServerError, 403, "AccessDenied", norole.bucket("conformance-taken").get_bucket_info)
    bare = Clients(sim, "bare")
    oss_error(oss_errors.ServerError, 403, "UserDisable", bare.bucket("conformance-bare").create_bucket)


def test_wrong_secret_is_rejected(sim, main):
    forged = Clients(sim, "main", secret="not-the-secret")
    oss_error(oss_errors.ServerError, 403, "SignatureDoesNotMatch", forged.oss_service().list_buckets)
    oss_error(oss_errors.ServerError, 403, "SignatureDoesNotMatch", forged.bucket("conformance-forged").create_bucket)
    import oss2

    stranger = oss2.Service(oss2.Auth("LTAI5tNoSuchKeyAtAll00000", "x"), sim.url)
    oss_error(oss_errors.ServerError, 403, "InvalidAccessKeyId", stranger.list_buckets)
