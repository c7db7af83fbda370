"""Consistency checks for the shipped telemetry backend: collector, compose, Prometheus, Grafana.

No collector, Jaeger, Prometheus or Grafana binary runs here, so these tests check what can go
wrong between the files: a pipeline naming an undefined component, a port published on one side
and not the other, a host name that is not a compose service, a data source uid the dashboard
cannot resolve, and above all dashboard queries naming metrics or labels that Prometheus will
never store. For the last one the test models the collector `prometheus` exporter's name
translation (the `UnderscoreEscapingWithSuffixes` strategy that otel-collector.yaml pins, as
implemented by github.com/prometheus/otlptranslator) and derives every legal series name from the
instruments tech_writer emits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Histogram, InMemoryMetricReader, Sum
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from span_helpers import chat_answer

from telemetry import attributes as attrs

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COLLECTOR_CONFIG = ROOT / "otel-collector.yaml"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus.yml"
DATASOURCES_FILE = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml"
DASHBOARD_PROVIDERS_FILE = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
DASHBOARD_FILE = DEPLOY / "grafana" / "dashboards" / "tech_writer.json"

# The translation strategy the name model below implements; the collector config must pin it.
TRANSLATION_STRATEGY = "UnderscoreEscapingWithSuffixes"
MIN_COLLECTOR_VERSION = (0, 144)


# --- OTLP -> Prometheus name translation (model of otlptranslator's normalizeName) -------------


class Kind(Enum):
    COUNTER = "monotonic sum"
    UP_DOWN_COUNTER = "non-monotonic sum"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


# otlptranslator's unit map (minus TiBy/TBy, whose spelling changed between versions); any other
# unit is appended as written, after escaping.
_UNIT_WORDS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes",
    "MiBy": "mebibytes", "GiBy": "gibibytes", "KBy": "kilobytes", "MBy": "megabytes",
    "GBy": "gigabytes", "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts",
    "g": "grams", "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}
_PER_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week",
                   "mo": "month", "y": "year"}
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9:]")


def _escape_unit(word: str) -> str:
    escaped = re.sub(r"_+", "_", _INVALID_NAME_CHARS.sub("_", word))
    return escaped.removeprefix("_")


def _unit_suffixes(unit: str) -> tuple[str, str]:
    """(main, per) suffix words; annotations such as ``{token}`` contribute nothing."""
    main, _, per = unit.partition("/")
    main, per = main.strip(), per.strip()
    main_word = _UNIT_WORDS.get(main, main) if main and not set("{}") & set(main) else ""
    per_word = ""
    if per and not set("{}") & set(per):
        per_word = "per_" + _PER_UNIT_WORDS.get(per, per)
    return _escape_unit(main_word), _escape_unit(per_word).removesuffix("_")


def prometheus_metric_name(name: str, unit: str, kind: Kind) -> str:
    """The metric family name the collector's prometheus exporter exposes for an OTLP metric."""
    tokens = [token for token in _INVALID_NAME_CHARS.split(name) if token]
    main, per = _unit_suffixes(unit)
    if main and main not in tokens:
        tokens.append(main)
    if per and per != "per" and per not in tokens:
        tokens.append(per)
    if kind is Kind.COUNTER:
        tokens = [token for token in tokens if token != "total"] + ["total"]
    if unit == "1" and kind is Kind.GAUGE:
        tokens = [token for token in tokens if token != "ratio"] + ["ratio"]
    joined = "_".join(tokens)
    return "_" + joined if joined[:1].isdigit() else joined


def prometheus_series_names(name: str, unit: str, kind: Kind) -> frozenset[str]:
    """Every series name a query may select for the metric (histograms expose three)."""
    family = prometheus_metric_name(name, unit, kind)
    if kind is Kind.HISTOGRAM:
        return frozenset(f"{family}_{part}" for part in ("bucket", "sum", "count"))
    return frozenset({family})


def prometheus_label_name(attribute: str) -> str:
    label = re.sub(r"[^a-zA-Z0-9_]", "_", attribute)
    if label[:1].isdigit():
        return "key_" + label
    if label.startswith("_") and not label.startswith("__"):
        return "key" + label
    return label


# --- What tech_writer emits -----------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    name: str
    unit: str
    kind: Kind
    attributes: frozenset[str]

    @property
    def series(self) -> frozenset[str]:
        return prometheus_series_names(self.name, self.unit, self.kind)

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(prometheus_label_name(key) for key in self.attributes)


_CALL_ATTRIBUTES = frozenset({
    attrs.GEN_AI_OPERATION_NAME, attrs.GEN_AI_PROVIDER_NAME, attrs.GEN_AI_REQUEST_MODEL,
    attrs.GEN_AI_RESPONSE_MODEL, attrs.PHASE,
})
TOKEN_USAGE = Instrument(
    attrs.METRIC_TOKEN_USAGE, "{token}", Kind.HISTOGRAM,
    _CALL_ATTRIBUTES | {attrs.GEN_AI_TOKEN_TYPE},
)
OPERATION_DURATION = Instrument(
    attrs.METRIC_OPERATION_DURATION, "s", Kind.HISTOGRAM, _CALL_ATTRIBUTES | {attrs.ERROR_TYPE}
)
COST = Instrument(
    attrs.METRIC_COST, "USD", Kind.COUNTER,
    frozenset({attrs.GEN_AI_PROVIDER_NAME, attrs.GEN_AI_REQUEST_MODEL, attrs.PHASE,
               attrs.GEN_AI_OPERATION_NAME}),
)
INSTRUMENTS = (TOKEN_USAGE, OPERATION_DURATION, COST)
# job <- service.name, instance <- service.instance.id (set by the exporter for every series).
RESOURCE_LABELS = frozenset({"job", "instance"})


def _series_owner(series: str) -> Instrument:
    for instrument in INSTRUMENTS:
        if series in instrument.series:
            return instrument
    raise AssertionError(f"{series!r} is not a series any tech_writer instrument produces")


# --- Small PromQL reader --------------------------------------------------------------------

_GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
             "or", "unless", "offset", "inf", "nan"}


@dataclass(frozen=True)
class PromqlRefs:
    metrics: frozenset[str]
    labels: frozenset[str]
    grouping: frozenset[str]
    functions: frozenset[str]


def promql_refs(expr: str) -> PromqlRefs:
    """The metric names, label names and functions a PromQL expression refers to."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values can contain anything
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors such as [$__range]
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables outside strings
    matcher_labels: set[str] = set()
    for block in re.findall(r"\{([^}]*)\}", text):
        matcher_labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", block))
    text = re.sub(r"\{[^}]*\}", " ", text)
    grouping = {
        label.strip() for clause in re.findall(_GROUPING, text) for label in clause.split(",")
    } - {""}
    text = re.sub(_GROUPING, " ", text)
    metrics: set[str] = set()
    functions: set[str] = set()
    for match in re.finditer(r"[a-zA-Z_:][\w:]*", text):
        word = match.group(0)
        if text[match.end() :].lstrip().startswith("("):
            functions.add(word)
        elif word.lower() not in _KEYWORDS:
            metrics.add(word)
    return PromqlRefs(
        frozenset(metrics), frozenset(matcher_labels | grouping), frozenset(grouping),
        frozenset(functions),
    )


def allowed_labels(metrics: Iterable[str]) -> frozenset[str]:
    """Labels that exist on the selected series: their attributes, job/instance, le on buckets."""
    labels = set(RESOURCE_LABELS)
    for series in metrics:
        labels |= _series_owner(series).labels
        if series.endswith("_bucket"):
            labels.add("le")
    return frozenset(labels)


# --- File loading ---------------------------------------------------------------------------


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    return _load_yaml(COLLECTOR_CONFIG)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    return _load_yaml(PROMETHEUS_CONFIG)


@pytest.fixture(scope="module")
def datasources() -> list[dict[str, Any]]:
    return _load_yaml(DATASOURCES_FILE)["datasources"]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    with DASHBOARD_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


def _expand_defaults(value: str) -> str:
    """Compose's ``${VAR:-default}`` as it resolves with VAR unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def _host_port(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host, int(port)


def _published_ports(service: Mapping[str, Any]) -> dict[int, int]:
    """host port -> container port for a compose service's short-syntax ``ports``."""
    published: dict[int, int] = {}
    for entry in service.get("ports", []):
        parts = str(entry).split("/")[0].split(":")
        assert len(parts) in (2, 3), f"publish ports explicitly as host:container, got {entry!r}"
        published[int(parts[-2])] = int(parts[-1])
    return published


def _volume_targets(service: Mapping[str, Any]) -> dict[str, Path]:
    """container path -> host path (resolved against the compose file's directory)."""
    mounts: dict[str, Path] = {}
    for entry in service.get("volumes", []):
        source, target, *_ = str(entry).split(":")
        mounts[target] = (COMPOSE_FILE.parent / source).resolve()
    return mounts


def _flag_value(command: Iterable[str], flag: str) -> str:
    for argument in command:
        if argument.startswith(flag + "="):
            return argument.split("=", 1)[1]
    raise AssertionError(f"{flag} missing from {command!r}")


def _pipelines(collector: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    return collector["service"]["pipelines"]


def _exporters_of_type(collector: Mapping[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {
        component_id: config or {}
        for component_id, config in collector["exporters"].items()
        if component_id.split("/")[0] in types
    }


def _panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels nested in collapsed rows


def _prometheus_exprs(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield panel["title"], target


def _panel(dashboard: Mapping[str, Any], title: str) -> dict[str, Any]:
    (panel,) = [panel for panel in _panels(dashboard) if panel["title"] == title]
    return panel


# --- The name model itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        # Cases from the documentation and rules of prometheus/otlptranslator.
        ("http.server.duration", "s", Kind.HISTOGRAM, "http_server_duration_seconds"),
        ("requests.count", "1", Kind.COUNTER, "requests_count_total"),
        ("memory.usage", "By", Kind.GAUGE, "memory_usage_bytes"),
        ("network.io", "By/s", Kind.GAUGE, "network_io_bytes_per_second"),
        ("cpu.utilization", "1", Kind.GAUGE, "cpu_utilization_ratio"),
        ("system.processes.count", "{process}", Kind.UP_DOWN_COUNTER, "system_processes_count"),
        ("request.latency.seconds", "s", Kind.HISTOGRAM, "request_latency_seconds"),
        ("hits.total", "", Kind.COUNTER, "hits_total"),
        ("1st.metric", "", Kind.GAUGE, "_1st_metric"),
    ],
)
def test_name_model_matches_the_translator(name: str, unit: str, kind: Kind, expected: str) -> None:
    assert prometheus_metric_name(name, unit, kind) == expected


def test_names_prometheus_stores_for_tech_writer_instruments() -> None:
    # Spelled out once, as a readable record of what the dashboard queries (and what the comment
    # in otel-collector.yaml promises); everything else derives names through the model.
    assert TOKEN_USAGE.series == {
        "gen_ai_client_token_usage_bucket", "gen_ai_client_token_usage_sum",
        "gen_ai_client_token_usage_count",
    }
    assert OPERATION_DURATION.series == {
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_operation_duration_seconds_sum",
        "gen_ai_client_operation_duration_seconds_count",
    }
    assert COST.series == {"gen_ai_client_cost_USD_total"}
    assert prometheus_label_name(attrs.PHASE) == "tech_writer_phase"


def test_instrument_table_agrees_with_semantic_conventions() -> None:
    # The two standard instruments, created through the semconv helpers on a real SDK: the unit
    # and kind the name model is fed must be what an SDK actually exports.
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("test_backend_configs")
    gen_ai_metrics.create_gen_ai_client_token_usage(meter).record(12)
    gen_ai_metrics.create_gen_ai_client_operation_duration(meter).record(0.5)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    exported = {
        metric.name: metric
        for resource_metrics in data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }
    for instrument in (TOKEN_USAGE, OPERATION_DURATION):
        metric = exported[instrument.name]
        assert metric.unit == instrument.unit
        assert isinstance(metric.data, Histogram)


def test_instrument_table_agrees_with_the_telemetry_package() -> None:
    # Cross-checks the table against the real telemetry layer once it exists (helper C's API).
    telemetry = pytest.importorskip("telemetry")
    if not hasattr(telemetry, "Telemetry"):
        pytest.skip("telemetry.Telemetry not available yet")
    reader = InMemoryMetricReader()
    tel = telemetry.Telemetry.for_testing(metric_reader=reader)
    try:
        with tel.run_span(agent_name="tech_writer"), tel.phase_span("exploration"):
            chat = tel.start_chat(
                "openai/gpt-5.1", "openrouter", server_address="openrouter.ai", server_port=443
            )
            chat.stop(
                chat_answer(generation_id="gen-1", response_model="openai/gpt-5.1",
                            finish_reasons=["stop"], prompt_tokens=10, completion_tokens=5,
                            cost_usd=0.001, cost_source="inline")
            )
        data = reader.get_metrics_data()
    finally:
        tel.shutdown()
    assert data is not None
    seen: dict[str, tuple[str, Kind, set[str]]] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if isinstance(metric.data, Histogram):
                    kind = Kind.HISTOGRAM
                elif isinstance(metric.data, Sum):
                    kind = Kind.COUNTER if metric.data.is_monotonic else Kind.UP_DOWN_COUNTER
                else:
                    kind = Kind.GAUGE
                keys = {key for point in metric.data.data_points for key in point.attributes}
                seen[metric.name] = (metric.unit, kind, keys)
    for instrument in INSTRUMENTS:
        unit, kind, keys = seen[instrument.name]
        assert (unit, kind) == (instrument.unit, instrument.kind), instrument.name
        assert keys <= instrument.attributes, (instrument.name, keys - instrument.attributes)


def test_promql_reader() -> None:
    refs = promql_refs(
        'histogram_quantile(0.95, sum by (le, gen_ai_request_model) (max_over_time('
        'x_bucket{job="$service", a=~"b|c"}[$__range]))) or vector(0)'
    )
    assert refs.metrics == {"x_bucket"}
    assert refs.labels == {"le", "gen_ai_request_model", "job", "a"}
    assert refs.grouping == {"le", "gen_ai_request_model"}
    assert refs.functions == {"histogram_quantile", "sum", "max_over_time", "vector"}


# --- Collector ------------------------------------------------------------------------------


def test_collector_pipelines_reference_defined_components(collector: dict[str, Any]) -> None:
    pipelines = _pipelines(collector)
    assert {"traces", "metrics"} <= set(pipelines)
    for name, pipeline in pipelines.items():
        assert pipeline.get("receivers") and pipeline.get("exporters"), name
        for section in ("receivers", "processors", "exporters"):
            for component_id in pipeline.get(section, []):
                assert component_id in (collector.get(section) or {}), (name, component_id)


def test_collector_defines_nothing_unused(collector: dict[str, Any]) -> None:
    pipelines = _pipelines(collector).values()
    for section in ("receivers", "processors", "exporters", "connectors"):
        used = {component for pipeline in pipelines for component in pipeline.get(section, [])}
        assert set(collector.get(section) or {}) == used, section
    assert set(collector.get("extensions") or {}) == set(collector["service"].get("extensions", []))


def test_collector_processor_order(collector: dict[str, Any]) -> None:
    # memory_limiter must see data first to refuse it under pressure; batch goes last.
    for name, pipeline in _pipelines(collector).items():
        processors = pipeline["processors"]
        assert processors[0].split("/")[0] == "memory_limiter", name
        assert processors[-1].split("/")[0] == "batch", name


def test_collector_receives_otlp_on_all_interfaces(collector: dict[str, Any]) -> None:
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    for pipeline in _pipelines(collector).values():
        assert "otlp" in pipeline["receivers"]


def test_traces_go_to_jaeger_over_insecure_grpc(
    collector: dict[str, Any], compose: dict[str, Any]
) -> None:
    grpc_exporters = _exporters_of_type(collector, "otlp_grpc", "otlp")
    jaeger_ids = [
        component_id for component_id in _pipelines(collector)["traces"]["exporters"]
        if component_id in grpc_exporters
    ]
    assert len(jaeger_ids) == 1
    exporter = grpc_exporters[jaeger_ids[0]]
    host, port = _host_port(exporter["endpoint"])
    assert (host, port) == ("jaeger", 4317)
    assert host in compose["services"]
    assert exporter["tls"]["insecure"] is True


def test_metrics_exporter_names_are_the_modelled_ones(collector: dict[str, Any]) -> None:
    (exporter,) = _exporters_of_type(collector, "prometheus").values()
    assert exporter["translation_strategy"] == TRANSLATION_STRATEGY
    assert not exporter.get("namespace")  # a namespace would prefix every name
    assert not exporter.get("const_labels")
    assert not (exporter.get("resource_to_telemetry_conversion") or {}).get("enabled", False)
    assert "resource_constant_labels" not in exporter
    host, _ = _host_port(exporter["endpoint"])
    assert host == "0.0.0.0"
    assert "prometheus" in _pipelines(collector)["metrics"]["exporters"]


def test_debug_exporter_on_every_pipeline(collector: dict[str, Any]) -> None:
    for name, pipeline in _pipelines(collector).items():
        assert "debug" in pipeline["exporters"], name


# --- Compose --------------------------------------------------------------------------------


def test_compose_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"otel-collector", "jaeger", "prometheus", "grafana"} <= set(services)
    collector_image = _expand_defaults(services["otel-collector"]["image"])
    repository, _, tag = collector_image.rpartition(":")
    assert repository == "otel/opentelemetry-collector-contrib"
    assert tuple(int(part) for part in tag.split(".")[:2]) >= MIN_COLLECTOR_VERSION
    jaeger_repository, _, jaeger_tag = _expand_defaults(services["jaeger"]["image"]).rpartition(":")
    assert jaeger_repository == "jaegertracing/jaeger"
    assert jaeger_tag.split(".")[0] == "2"


def test_compose_mounts_the_collector_config(compose: dict[str, Any]) -> None:
    service = compose["services"]["otel-collector"]
    config_path = _flag_value(service["command"], "--config")
    assert _volume_targets(service)[config_path] == COLLECTOR_CONFIG


def test_compose_publishes_the_collector_receiver_ports(
    compose: dict[str, Any], collector: dict[str, Any]
) -> None:
    published = _published_ports(compose["services"]["otel-collector"])
    for protocol in collector["receivers"]["otlp"]["protocols"].values():
        _, port = _host_port(protocol["endpoint"])
        assert published.get(port) == port  # same number on the host as in the docs


def test_compose_publishes_the_ui_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    prometheus_port = _host_port(
        _flag_value(services["prometheus"]["command"], "--web.listen-address")
    )[1]
    expected = {"jaeger": 16686, "prometheus": prometheus_port, "grafana": 3000}
    for name, container_port in expected.items():
        assert _published_ports(services[name]).get(container_port) == container_port, name
    assert prometheus_port == 9090


def test_compose_host_ports_are_unique(compose: dict[str, Any]) -> None:
    host_ports = [
        port for service in compose["services"].values() for port in _published_ports(service)
    ]
    assert len(host_ports) == len(set(host_ports))


def test_jaeger_listens_beyond_localhost(compose: dict[str, Any]) -> None:
    assert compose["services"]["jaeger"]["environment"]["JAEGER_LISTEN_HOST"] == "0.0.0.0"


# --- Prometheus -----------------------------------------------------------------------------


def test_prometheus_scrapes_the_collector_exporter(
    prometheus: dict[str, Any], collector: dict[str, Any], compose: dict[str, Any]
) -> None:
    (exporter,) = _exporters_of_type(collector, "prometheus").values()
    _, exporter_port = _host_port(exporter["endpoint"])
    scrapes = [
        (job, target)
        for job in prometheus["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    ]
    collector_services = [
        name for name, service in compose["services"].items()
        if "opentelemetry-collector" in _expand_defaults(service["image"])
    ]
    assert collector_services == ["otel-collector"]
    ((job, target),) = [
        (job, target) for job, target in scrapes if _host_port(target)[0] in collector_services
    ]
    assert target == f"otel-collector:{exporter_port}"
    # Keeps the exporter's job/instance (service name / run id) instead of the scrape target's.
    assert job["honor_labels"] is True


def test_compose_mounts_the_prometheus_config(compose: dict[str, Any]) -> None:
    service = compose["services"]["prometheus"]
    config_path = _flag_value(service["command"], "--config.file")
    assert _volume_targets(service)[config_path] == PROMETHEUS_CONFIG


# --- Grafana provisioning -------------------------------------------------------------------


def test_grafana_datasources_point_at_compose_services(
    datasources: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    services = compose["services"]
    by_type = {source["type"]: source for source in datasources}
    assert set(by_type) == {"prometheus", "jaeger"}
    prometheus_port = _host_port(
        _flag_value(services["prometheus"]["command"], "--web.listen-address")
    )[1]
    assert by_type["prometheus"]["url"] == f"http://prometheus:{prometheus_port}"
    assert by_type["jaeger"]["url"] == "http://jaeger:16686"
    for source in datasources:
        host = source["url"].removeprefix("http://").split(":")[0]
        assert host in services
    assert len({source["uid"] for source in datasources}) == len(datasources)


def test_grafana_provisioning_is_mounted(compose: dict[str, Any]) -> None:
    service = compose["services"]["grafana"]
    mounts = _volume_targets(service)
    assert mounts["/etc/grafana/provisioning"] == DATASOURCES_FILE.parents[1]
    (provider,) = _load_yaml(DASHBOARD_PROVIDERS_FILE)["providers"]
    assert provider["type"] == "file"
    dashboards_dir = mounts[provider["options"]["path"]]
    assert dashboards_dir == DASHBOARD_FILE.parent
    home = service["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD_FILE.name}"


def test_grafana_is_open_for_local_use(compose: dict[str, Any]) -> None:
    environment = compose["services"]["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Admin"


# --- Dashboard ------------------------------------------------------------------------------

REQUIRED_PANELS = (
    "Cost per run", "Cost per phase", "Cost per model", "Tokens by type",
    "LLM call latency (p50 / p95)", "Calls per model",
)


def test_dashboard_has_the_required_panels(dashboard: dict[str, Any]) -> None:
    titles = [panel["title"] for panel in _panels(dashboard)]
    assert set(REQUIRED_PANELS) <= set(titles)
    assert len(titles) == len(set(titles))
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"]


def test_dashboard_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area


def test_dashboard_datasources_resolve(
    dashboard: dict[str, Any], datasources: list[dict[str, Any]]
) -> None:
    provisioned = {source["uid"]: source["type"] for source in datasources}
    references = [panel.get("datasource") for panel in _panels(dashboard)]
    references += [
        target.get("datasource")
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])
    ]
    references += [variable.get("datasource") for variable in dashboard["templating"]["list"]]
    assert references
    for reference in references:
        assert reference is not None, "every panel, target and variable names its data source"
        assert provisioned.get(reference["uid"]) == reference["type"], reference


def test_dashboard_queries_use_only_stored_names(dashboard: dict[str, Any]) -> None:
    known_series = {series for instrument in INSTRUMENTS for series in instrument.series}
    exprs = list(_prometheus_exprs(dashboard))
    assert exprs
    for title, target in exprs:
        refs = promql_refs(target["expr"])
        assert refs.metrics, (title, target["expr"])
        assert refs.metrics <= known_series, (title, refs.metrics - known_series)
        allowed = allowed_labels(refs.metrics)
        assert refs.labels <= allowed, (title, refs.labels - allowed)
        legend_labels = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
        assert legend_labels <= refs.grouping | RESOURCE_LABELS, (title, legend_labels)


def test_dashboard_variables_use_only_stored_names(dashboard: dict[str, Any]) -> None:
    variables = dashboard["templating"]["list"]
    assert variables
    for variable in variables:
        query = variable["query"]
        if isinstance(query, dict):
            query = query["query"]
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
        assert match, query
        refs = promql_refs(match.group(1))
        allowed = allowed_labels(refs.metrics)
        assert {match.group(2)} | refs.labels <= allowed, query


def _single_expr_refs(dashboard: Mapping[str, Any], title: str) -> PromqlRefs:
    (target,) = _panel(dashboard, title)["targets"]
    return promql_refs(target["expr"])


@pytest.mark.parametrize(
    ("title", "instrument", "series_suffix", "grouped_by"),
    [
        ("Cost per run", COST, "", "instance"),
        ("Cost per phase", COST, "", prometheus_label_name(attrs.PHASE)),
        ("Cost per model", COST, "", prometheus_label_name(attrs.GEN_AI_REQUEST_MODEL)),
        ("Tokens by type", TOKEN_USAGE, "_sum", prometheus_label_name(attrs.GEN_AI_TOKEN_TYPE)),
        ("Calls per model", OPERATION_DURATION, "_count",
         prometheus_label_name(attrs.GEN_AI_REQUEST_MODEL)),
    ],
)
def test_breakdown_panels_query_the_right_series(
    dashboard: dict[str, Any], title: str, instrument: Instrument, series_suffix: str,
    grouped_by: str,
) -> None:
    refs = _single_expr_refs(dashboard, title)
    (series,) = refs.metrics
    assert series in instrument.series and series.endswith(series_suffix)
    assert grouped_by in refs.grouping


def test_latency_panel_shows_p50_and_p95_from_buckets(dashboard: dict[str, Any]) -> None:
    targets = _panel(dashboard, "LLM call latency (p50 / p95)")["targets"]
    quantiles = set()
    for target in targets:
        refs = promql_refs(target["expr"])
        assert refs.metrics == {s for s in OPERATION_DURATION.series if s.endswith("_bucket")}
        assert "histogram_quantile" in refs.functions and "le" in refs.grouping
        quantile = re.search(r"histogram_quantile\(\s*([0-9.]+)", target["expr"])
        assert quantile, target["expr"]
        quantiles.add(float(quantile.group(1)))
    assert quantiles == {0.5, 0.95}


def test_cost_panels_are_in_dollars(dashboard: dict[str, Any]) -> None:
    for title in ("Cost per run", "Cost per phase", "Cost per model"):
        assert _panel(dashboard, title)["fieldConfig"]["defaults"]["unit"] == "currencyUSD"
    latency = _panel(dashboard, "LLM call latency (p50 / p95)")
    assert latency["fieldConfig"]["defaults"]["unit"] == "s"
