"""The worker profile (bench/hotspots.py): py-spy's collapsed stacks sorted into groups, agents,
our modules and functions, by either benchmark's grouping."""

from __future__ import annotations

from pathlib import Path

from bench.hotspots import (
    INGEST_OTHER,
    KAFKA,
    LOOP,
    NO_AGENT,
    PARSE,
    TABLES,
    Frame,
    Recording,
    ingest_group,
    own_module_of,
    pipeline_group,
    summary,
    tables,
)

# --- stacks as the webhook and the normalize agent run them ---

EVENT_LOOP = (
    "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
)
WEBHOOK = (
    f"{EVENT_LOOP};RequestHandler._handle_request (aiohttp/web_protocol.py:577);"
    "receive (streams/sources/webhook.py:128);_publish (streams/sources/webhook.py:76)"
)
AGENT = (
    f"{EVENT_LOOP};Agent._execute_actor (faust/agents/agent.py:674);"
    "normalize (streams/process/normalize.py:300)"
)

# --- a worker running the pipeline ---

LOOP_ROOT = (
    "<module> (streams/__main__.py:5);main (streams/cli/main.py:282);"
    "BaseEventLoop.run_forever (asyncio/base_events.py:608);"
    "BaseEventLoop._run_once (asyncio/base_events.py:1922)"
)
NORMALIZE = (
    f"{LOOP_ROOT};Handle._run (asyncio/events.py:84);"
    "register.<locals>.normalize (streams/process/normalize.py:360);"
    "NormalizeRecords.one (streams/process/normalize.py:280)"
)
RAW = "\n".join(
    [
        f"{NORMALIZE};read_envelope (streams/process/normalize.py:95);"
        "BaseModel.model_validate_json (pydantic/main.py:744) 6",
        f"{NORMALIZE};Normalizer.keep (streams/process/normalize.py:140);"
        "Table.__setitem__ (faust/tables/table.py:80);"
        "AIOKafkaProducer.send (aiokafka/producer/producer.py:480) 2",
        f"{LOOP_ROOT};Handle._run (asyncio/events.py:84);"
        "SendProduceReqHandler.do (aiokafka/producer/sender.py:380);"
        "AIOKafkaConnection.send (aiokafka/conn.py:450);"
        "_SelectorSocketTransport.write (asyncio/selector_events.py:1070) 8",
        f"{LOOP_ROOT};EpollSelector.select (selectors.py:468) 4",
    ]
)


def frames(stack: str) -> list[Frame]:
    return [Frame.parse(text) for text in stack.split(";")]


def shares(rows: list[dict[str, object]], key: str) -> dict[object, object]:
    return {row[key]: row["percent"] for row in rows}


# --- bench-ingest's grouping ---


def test_pydantic_counts_as_parsing_only_inside_a_webhook_request() -> None:
    validate = ";BaseModel.model_validate (pydantic/main.py:705)"
    assert ingest_group(frames(WEBHOOK + validate)) == "JSON parse / validate"
    assert ingest_group(frames(AGENT + validate)) == "agents (normalize, join, sinks)"


def test_the_innermost_grouped_frame_names_the_group() -> None:
    verify = ";verify_delivery (connectors/adobe_io/signature.py:130)"
    logged = ";Logger.info (logging/__init__.py:1489)"
    assert ingest_group(frames(WEBHOOK + verify)) == "signature verification"
    assert ingest_group(frames(WEBHOOK + verify + logged)) == "logging"


def test_a_broker_connection_counts_for_the_producer_or_the_consumer_that_uses_it() -> None:
    write = ";AIOKafkaClient.send (aiokafka/client.py:474);AIOKafkaConnection.send (aiokafka/conn.py:423)"
    sender = f"{EVENT_LOOP};Sender._send_produce_req (aiokafka/producer/sender.py:288)"
    fetcher = f"{EVENT_LOOP};Fetcher._proc_fetch_request (aiokafka/consumer/fetcher.py:747)"
    assert ingest_group(frames(sender + write)) == "Kafka produce / ack wait"
    assert ingest_group(frames(fetcher + write)) == "Kafka consume / fetch"
    assert ingest_group(frames(EVENT_LOOP + write)) == "Kafka client, other"


def test_a_stack_in_no_group_is_other() -> None:
    stack = "main (streams/cli/main.py:65);Service.start (mode/services.py:800)"
    assert ingest_group(frames(stack)) == INGEST_OTHER


def test_summary_shares_are_of_all_samples_with_the_webhooks_part() -> None:
    raw = "\n".join(
        [
            f"{WEBHOOK};verify_delivery (connectors/adobe_io/signature.py:130) 30",
            f"{AGENT} 70",
        ]
    )
    profile = summary(raw, ingest_group, seconds=1.0)
    assert profile["samples"] == 100
    assert profile["seconds"] == 1.0
    assert profile["webhook_request_percent"] == 30.0
    assert shares(profile["groups"], "group") == {
        "agents (normalize, join, sinks)": 70.0,
        "signature verification": 30.0,
    }
    assert shares(profile["webhook_groups"], "group") == {"signature verification": 30.0}
    assert profile["top_own"][0] == {
        "function": "normalize (streams/process/normalize.py)",
        "samples": 70,
        "percent": 70.0,
    }


def test_a_sample_counts_for_the_agent_or_view_it_ran_in() -> None:
    entry = "main (streams/cli/main.py:285);"
    parse = ";CommercePayload.model_validate (schemas/commerce/payload.py:40)"
    assert own_module_of(frames(entry + AGENT + parse)) == "streams/process/normalize.py"
    assert own_module_of(frames(entry + WEBHOOK)) == "streams/sources/webhook.py"
    assert own_module_of(frames(EVENT_LOOP)).startswith("(none of ours")


# --- bench-pipeline's grouping (the default) ---


def test_a_socket_write_counts_for_whoever_wrote_and_select_for_the_loop() -> None:
    groups = shares(summary(RAW)["groups"], "group")

    assert groups == {KAFKA: 40.0, PARSE: 30.0, LOOP: 20.0, TABLES: 10.0}


def test_a_table_write_is_a_table_write_whatever_it_calls() -> None:
    assert shares(summary(RAW, pipeline_group)["groups"], "group")[TABLES] == 10.0


def test_samples_are_counted_for_the_agent_on_their_stack() -> None:
    agents = shares(summary(RAW)["agents"], "agent")

    assert agents == {"normalize agent": 40.0, NO_AGENT: 60.0}


def test_own_time_is_the_innermost_frame_and_cumulative_skips_the_runners() -> None:
    found = summary(RAW, top=3)

    assert shares(found["top_own"], "function") == {
        "_SelectorSocketTransport.write (asyncio/selector_events.py)": 40.0,
        "BaseModel.model_validate_json (pydantic/main.py)": 30.0,
        "EpollSelector.select (selectors.py)": 20.0,
    }
    cumulative = shares(found["top_cumulative"], "function")
    assert cumulative["register.<locals>.normalize (streams/process/normalize.py)"] == 40.0
    assert not any(name.startswith("BaseEventLoop") for name in map(str, cumulative))


def test_a_parse_is_named_by_who_asked_for_it() -> None:
    sites = shares(summary(RAW)["parse_sites"], "site")

    assert sites == {
        "read_envelope (streams/process/normalize.py) → BaseModel.model_validate_json": 30.0
    }


def test_either_grouping_sorts_the_same_samples_into_all_of_them() -> None:
    for grouping in (ingest_group, pipeline_group):
        profile = summary(RAW, grouping)

        assert profile["samples"] == 20
        assert sum(row["samples"] for row in profile["groups"]) == 20
        assert profile["webhook_groups"] == []


# --- recording and showing ---


def test_a_recording_that_never_ran_says_why(tmp_path: Path) -> None:
    recording = Recording(1, tmp_path / "profile.txt", ingest_group, nonblocking=True)

    assert recording.command()[-1] == "--nonblocking"
    assert "--nonblocking" not in Recording(1, tmp_path / "p.txt", pipeline_group).command()
    recording.stop()
    assert "error" in recording.summary()


def test_the_tables_show_the_webhook_column_only_when_there_were_requests() -> None:
    raw = f"{WEBHOOK};verify_delivery (connectors/adobe_io/signature.py:130) 3\n{AGENT} 7"

    with_webhook = tables(summary(raw, ingest_group))[0]
    without = tables(summary(RAW))[0]

    assert len(with_webhook.columns) == 3
    assert len(without.columns) == 2
