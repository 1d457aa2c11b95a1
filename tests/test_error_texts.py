"""Model endpoint failures as one true line naming the endpoint, and retries that do not
send the person's message twice (real litellm against the local server)."""

from __future__ import annotations

import pytest

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends.factory import build_engine
from de_agent.llm.adapter import LLMClient, LLMError, error_text
from tests.support.openai_server import ScriptedServer

pytestmark = pytest.mark.xdist_group("litellm")  # litellm is imported by one test worker only


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


# Both paths word failures alike: litellm names the --api-base URL, the direct wire path the
# URL it called.
PATHS = {"litellm": "", "direct": "/chat/completions"}


@pytest.fixture(params=sorted(PATHS))
def path(request, monkeypatch):
    if request.param == "litellm":
        monkeypatch.setenv("DE_AGENT_LITELLM", "1")
    else:
        monkeypatch.delenv("DE_AGENT_LITELLM", raising=False)
    return PATHS[request.param]


async def failure(server_url: str) -> str:
    client = LLMClient("openai/test-model", api_base=server_url, max_retries=0, timeout_s=10)
    with pytest.raises(LLMError) as info:
        await client.complete([{"role": "user", "content": "hi"}], [])
    return str(info.value)


async def test_a_server_killed_mid_stream_is_not_called_a_500(path):
    with ScriptedServer([{"drop": True, "text": "Half an answer that never ends"}]) as server:
        message = await failure(server.url)
    assert "500" not in message and "litellm." not in message and "Original exception" not in message
    assert f"the connection to the model endpoint {server.url}{path} broke in the middle of the answer" in message
    assert message.endswith("send the message again") and "\n" not in message


async def test_an_unreachable_endpoint_is_named_with_what_to_try(path):
    message = await failure("http://127.0.0.1:9/v1")
    assert message.startswith(f"cannot reach the model endpoint http://127.0.0.1:9/v1{path}:")
    assert message.endswith(". Check that the server is running and --api-base is right")
    assert "gave up after" not in message and "\n" not in message


async def test_a_real_500_names_the_endpoint_and_keeps_the_provider_text(path):
    with ScriptedServer([{"status": 500, "body": "the GPU caught fire"}]) as server:
        message = await failure(server.url)
    assert message == f"the model endpoint {server.url}{path} returned an error 500: the GPU caught fire"


def test_long_errors_are_cut_at_a_word():
    text = error_text(RuntimeError("litellm.BadRequestError: OpenAIException - " + "word " * 100), limit=50)
    assert text.endswith("word …") and len(text) <= 52 and not text.startswith("litellm")


async def test_retrying_after_a_failed_call_does_not_send_the_message_twice(repo):
    with ScriptedServer([{"status": 400, "body": "bad request"}, {"text": "back again"}]) as server:
        settings = Settings(model="openai/test-model", api_base=server.url, sandbox="none", max_retries=0,
                            request_timeout_s=10)
        events: list[P.Event] = []
        engine = build_engine(settings, repo, events.append, approvals=P.Approvals.NOBODY).engine
        await engine.start_turn("load the orders")
        assert any(isinstance(e, P.Error) for e in events)
        await engine.start_turn("load the orders")
    users = [m for m in server.requests[1]["messages"] if m["role"] == "user"]
    assert [m["content"] for m in users] == ["load the orders"]


def test_headless_reports_a_missing_key_or_unknown_model_without_importing_litellm(repo, monkeypatch, tmp_path):
    import subprocess
    import sys

    from tests.support.cli import cli_env

    code = ("import sys; from de_agent.cli import main; code = main(sys.argv[1:]); "
            "print('litellm imported' if 'litellm' in sys.modules else 'litellm not imported'); sys.exit(code)")
    for model, message in (("openai/gpt-4o", "no API key for openai: set OPENAI_API_KEY in the environment"),
                           ("gpt-99-ultra", "unknown model 'gpt-99-ultra'")):
        env = cli_env(tmp_path)
        env.pop("OPENAI_API_KEY")
        proc = subprocess.run([sys.executable, "-c", code, "-p", "hi", "--model", model], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and proc.stderr.count("\n") == 1
        assert proc.stdout.strip() == "litellm not imported"
