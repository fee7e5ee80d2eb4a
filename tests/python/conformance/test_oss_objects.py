"""OSS bucket tags and objects through oss2 (V1 signature, path-style on the IP endpoint):
PutBucket's `x-oss-bucket-tagging`, PutBucketTags / GetBucketTags / DeleteBucketTags,
PutObject, GetObject, HeadObject, DeleteObject, DeleteMultipleObjects, ListObjects (V1 and
V2, paged, with a delimiter), BucketNotEmpty, AccessDenied on another account's bucket and the
directories the service writes into a workspace's bucket."""

import base64
import hashlib

import oss2
import pytest
from conftest import Clients, open_oss
from oss2 import exceptions as oss_errors
from oss2.models import Tagging, TaggingRule
from test_oss import oss_error

OWNER = "flinkform:owner"


@pytest.fixture(autouse=True)
def oss_opened(main):
    open_oss(main)


def tagging(**pairs):
    rule = TaggingRule()
    for k, v in pairs.items():
        rule.add(k, v)
    return Tagging(rule)


def test_bucket_tags(main):
    bucket = main.bucket("conformance-tags")
    created = bucket.create_bucket(headers={"x-oss-bucket-tagging": "flinkform%3Aowner=stack-a&env=test%20one"})
    assert created.status == 200
    got = bucket.get_bucket_tagging()
    assert got.status == 200
    assert got.tag_set.tagging_rule == {OWNER: "stack-a", "env": "test one"}

    assert bucket.put_bucket_tagging(tagging(owner="someone-else")).status == 200
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"owner": "someone-else"}, "PutBucketTags replaces the set"
    bucket.put_bucket_tagging(tagging(a="1", b="2", c="3"))
    assert bucket.delete_bucket_tagging(params={"tagging": "a,b"}).status == 204
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"c": "3"}
    assert bucket.delete_bucket_tagging().status == 204
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {}

    oss_error(oss_errors.ServerError, 400, "InvalidTag", bucket.put_bucket_tagging, tagging(**{"aliyun-x": "1"}))
    oss_error(oss_errors.NoSuchBucket, 404, "NoSuchBucket", main.bucket("conformance-notags").get_bucket_tagging)
    bucket.delete_bucket()


def test_objects_and_listing(main):
    bucket = main.bucket("conformance-objects")
    bucket.create_bucket()
    put = bucket.put_object("jobs/a.jar", b"hello flink")
    etag = hashlib.md5(b"hello flink").hexdigest().upper()
    assert (put.status, put.etag) == (200, etag), "the ETag is the content's MD5"
    got = bucket.get_object("jobs/a.jar")
    assert got.read() == b"hello flink"
    head = bucket.head_object("jobs/a.jar")
    assert head.content_length == len(b"hello flink") and head.etag == etag
    assert head.object_type == "Normal"
    oss_error(oss_errors.NoSuchKey, 404, "NoSuchKey", bucket.get_object, "jobs/missing")
    with pytest.raises(oss_errors.NotFound):
        bucket.head_object("jobs/missing")
    with pytest.raises(oss_errors.ServerError) as bad_md5:
        bucket.put_object("x", b"abc", headers={"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert (bad_md5.value.status, bad_md5.value.code) == (400, "InvalidDigest")

    for k in ["jobs/b.jar", "logs/1.log", "logs/2.log", "savepoints/sp-1/_metadata", "top level.txt"]:
        bucket.put_object(k, b"")
    listed = bucket.list_objects(max_keys=1000)
    assert [o.key for o in listed.object_list] == [
        "jobs/a.jar",
        "jobs/b.jar",
        "logs/1.log",
        "logs/2.log",
        "savepoints/sp-1/_metadata",
        "top level.txt",
    ]
    first = listed.object_list[0]
    assert (first.size, first.etag, first.type, first.storage_class) == (11, etag, "Normal", "Standard")
    assert isinstance(first.last_modified, int) and first.owner.id == main.account.uid

    page = bucket.list_objects(max_keys=2)
    assert page.is_truncated and [o.key for o in page.object_list] == ["jobs/a.jar", "jobs/b.jar"]
    rest = bucket.list_objects(marker=page.next_marker, max_keys=100)
    assert not rest.is_truncated and len(rest.object_list) == 4

    dirs = bucket.list_objects(delimiter="/")
    assert dirs.prefix_list == ["jobs/", "logs/", "savepoints/"]
    assert [o.key for o in dirs.object_list] == ["top level.txt"]
    assert [o.key for o in oss2.ObjectIterator(bucket, prefix="logs/", max_keys=1)] == ["logs/1.log", "logs/2.log"]

    v2 = bucket.list_objects_v2(max_keys=3, fetch_owner=True)
    assert v2.is_truncated and len(v2.object_list) == 3 and v2.next_continuation_token
    assert v2.object_list[0].owner is not None
    v2_rest = bucket.list_objects_v2(continuation_token=v2.next_continuation_token, max_keys=100)
    assert not v2_rest.is_truncated
    assert [o.key for o in v2.object_list + v2_rest.object_list] == [o.key for o in listed.object_list]
    assert v2_rest.object_list[0].owner is None, "V2 lists owners only with fetch-owner"
    v2_dirs = bucket.list_objects_v2(delimiter="/", prefix="savepoints/")
    assert v2_dirs.prefix_list == ["savepoints/sp-1/"]
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, max_keys=2)] == [o.key for o in listed.object_list]

    oss_error(oss_errors.ServerError, 409, "BucketNotEmpty", bucket.delete_bucket)
    assert bucket.delete_object("jobs/missing").status == 204, "deleting an absent object is fine"
    assert bucket.delete_object("top level.txt").status == 204
    result = bucket.batch_delete_objects(["jobs/a.jar", "jobs/b.jar", "logs/1.log", "never-there"])
    assert sorted(result.deleted_keys) == ["jobs/a.jar", "jobs/b.jar", "logs/1.log", "never-there"]
    remaining = [o.key for o in bucket.list_objects().object_list]
    assert remaining == ["logs/2.log", "savepoints/sp-1/_metadata"]
    quiet = bucket.batch_delete_objects(remaining, headers={})
    assert quiet.status == 200
    assert bucket.list_objects().object_list == []
    assert bucket.delete_bucket().status == 204


def test_quiet_batch_delete(main):
    """`<Quiet>true</Quiet>` (oss2 always sends false; the XML is built the same way)."""
    bucket = main.bucket("conformance-quiet")
    bucket.create_bucket()
    bucket.put_object("a", b"1")
    body = oss2.xml_utils.to_batch_delete_objects_request(["a"], True)
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    resp = bucket._Bucket__do_bucket("POST", data=body, params={"delete": "", "encoding-type": "url"}, headers={"Content-MD5": md5})
    assert resp.status == 200
    assert b"<Deleted>" not in resp.read()
    assert bucket.list_objects().object_list == []
    with pytest.raises(oss_errors.ServerError) as missing_md5:
        bucket._Bucket__do_bucket("POST", data=body, params={"delete": ""})
    assert (missing_md5.value.status, missing_md5.value.code) == (400, "MissingArgument")
    bucket.delete_bucket()


def test_another_accounts_bucket(sim, main):
    mine = main.bucket("conformance-mine")
    mine.create_bucket()
    mine.put_object("data", b"x")
    other = Clients(sim, "norole")
    open_oss(other)
    theirs = other.bucket("conformance-mine")
    oss_error(oss_errors.ServerError, 409, "BucketAlreadyExists", theirs.create_bucket)
    oss_error(oss_errors.ServerError, 403, "AccessDenied", theirs.get_bucket_info)
    oss_error(oss_errors.ServerError, 403, "AccessDenied", theirs.list_objects)
    oss_error(oss_errors.ServerError, 403, "AccessDenied", theirs.put_object, "k", b"v")
    oss_error(oss_errors.ServerError, 403, "AccessDenied", theirs.get_bucket_tagging)
    oss_error(oss_errors.ServerError, 403, "AccessDenied", theirs.delete_bucket)
    oss_error(oss_errors.NoSuchBucket, 404, "NoSuchBucket", other.bucket("conformance-nobody").get_bucket_info)
    mine.delete_object("data")
    mine.delete_bucket()


def test_running_workspace_wrote_its_directories(main, main_net, pre_workspace):
    keys = [o.key for o in main.bucket(main_net.bucket).list_objects().object_list]
    assert {"artifacts/", "flink-jobs/", "flink-savepoints/", "logs/"} <= set(keys)
    oss_error(oss_errors.ServerError, 409, "BucketNotEmpty", main.bucket(main_net.bucket).delete_bucket)
