"""The worker profile's grouping of py-spy samples (bench/hotspots.py)."""

from __future__ import annotations

from bench.hotspots import OTHER, group_of, own_module_of, summarize

LOOP = "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
WEBHOOK = (
    f"{LOOP};RequestHandler._handle_request (aiohttp/web_protocol.py:577);"
    "receive (streams/sources/webhook.py:128);_publish (streams/sources/webhook.py:76)"
)
NORMALIZE = (
    f"{LOOP};Agent._execute_actor (faust/agents/agent.py:674);"
    "normalize (streams/process/normalize.py:300)"
)


def frames(stack: str) -> list[tuple[str, str]]:
    return [
        (text.split(" (")[0], text.split(" (")[1].split(":")[0].rstrip(")"))
        for text in stack.split(";")
    ]


def test_pydantic_counts_as_parsing_only_inside_a_webhook_request() -> None:
    validate = ";BaseModel.model_validate (pydantic/main.py:705)"
    assert group_of(frames(WEBHOOK + validate)) == "JSON parse / validate"
    assert group_of(frames(NORMALIZE + validate)) == "agents (normalize, join, sinks)"


def test_the_innermost_grouped_frame_names_the_group() -> None:
    verify = ";verify_delivery (connectors/adobe_io/signature.py:130)"
    logged = ";Logger.info (logging/__init__.py:1489)"
    assert group_of(frames(WEBHOOK + verify)) == "signature verification"
    assert group_of(frames(WEBHOOK + verify + logged)) == "logging"


def test_a_broker_connection_counts_for_the_producer_or_the_consumer_that_uses_it() -> None:
    write = ";AIOKafkaClient.send (aiokafka/client.py:474);AIOKafkaConnection.send (aiokafka/conn.py:423)"
    sender = f"{LOOP};Sender._send_produce_req (aiokafka/producer/sender.py:288)"
    fetcher = f"{LOOP};Fetcher._proc_fetch_request (aiokafka/consumer/fetcher.py:747)"
    assert group_of(frames(sender + write)) == "Kafka produce / ack wait"
    assert group_of(frames(fetcher + write)) == "Kafka consume / fetch"
    assert group_of(frames(LOOP + write)) == "Kafka client, other"


def test_a_stack_in_no_group_is_other() -> None:
    assert (
        group_of(frames("main (streams/cli/main.py:65);Service.start (mode/services.py:800)"))
        == OTHER
    )


def test_summary_shares_are_of_all_samples_with_the_webhooks_part() -> None:
    raw = "\n".join(
        [
            f"{WEBHOOK};verify_delivery (connectors/adobe_io/signature.py:130) 30",
            f"{NORMALIZE} 70",
        ]
    )
    profile = summarize(raw, seconds=1.0)
    assert profile["samples"] == 100
    assert profile["webhook_request_share"] == 0.3
    assert profile["groups"] == [
        {"group": "agents (normalize, join, sinks)", "share": 0.7},
        {"group": "signature verification", "share": 0.3},
    ]
    assert profile["webhook_groups"] == [{"group": "signature verification", "share": 0.3}]
    assert profile["top_functions"][0] == {
        "function": "normalize (streams/process/normalize.py)",
        "self_share": 0.7,
    }


def test_a_sample_counts_for_the_agent_or_view_it_ran_in() -> None:
    entry = "main (streams/cli/main.py:285);"
    parse = ";CommercePayload.model_validate (schemas/commerce/payload.py:40)"
    assert own_module_of(frames(entry + NORMALIZE + parse)) == "streams/process/normalize.py"
    assert own_module_of(frames(entry + WEBHOOK)) == "streams/sources/webhook.py"
    assert own_module_of(frames(LOOP)).startswith("(none of ours")
