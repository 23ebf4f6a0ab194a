"""One figure per case and host: socket states with the accept queue, stub_status, memory, client outcomes."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STATE_COLOURS = {"01": "#4c72b0", "02": "#dd8452", "03": "#55a868", "04": "#c44e52", "00": "#8172b3"}


def _shade_clients(ax, doc):
    window = doc["meta"].get("clients_window")
    if window:
        ax.axvspan(window[0], window[1], color="#eeeeee", zorder=0, label="clients running")


def _timeout_line(ax, doc):
    """A vertical line where the proxy timeout ends for requests sent at the clients' start."""
    p, window = doc["meta"]["params"], doc["meta"].get("clients_window")
    if window and not p.get("nginx_default_timeouts"):
        ax.axvline(window[0] + float(p["proxy_timeout"]), color="#999999", linestyle=":", linewidth=1,
                   label="proxy timeout (%s s)" % p["proxy_timeout"])


def _hline(ax, value, label, colour):
    ax.axhline(value, color=colour, linestyle="--", linewidth=0.8, label=label)


def case_figure(doc, path, title):
    u, s, m = doc["samples"]["unix"], doc["samples"]["stub_status"], doc["samples"]["memory"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    fig.suptitle(title, fontsize=11)

    ax = axes[0][0]
    _shade_clients(ax, doc)
    for code, column in u["states"].items():
        if any(column):
            ax.plot(u["t"], column, label="%s lines" % code, color=STATE_COLOURS.get(code), linewidth=1.2)
    queue = [(t, q) for t, q in zip(u["t"], u["queue_len"]) if q is not None]
    if queue:
        ax.plot([t for t, _ in queue], [q for _, q in queue], "k--", linewidth=1, label="accept queue (sock_diag)")
    somaxconn = doc["meta"].get("somaxconn")
    if somaxconn is not None and somaxconn < 1000:
        _hline(ax, somaxconn, "net.core.somaxconn (%d)" % somaxconn, "#b00020")
    _timeout_line(ax, doc)
    ax.set_title("/proc/net/unix lines of the upstream path, by state")
    ax.set_xlabel("time since the case started (s)")
    ax.set_ylabel("lines / queued connections")
    ax.legend(fontsize=8, loc="best")

    ax = axes[0][1]
    _shade_clients(ax, doc)
    for field in ("active", "reading", "writing", "waiting"):
        points = [(t, v) for t, v in zip(s["t"], s[field]) if v is not None]
        if points:
            ax.plot([t for t, _ in points], [v for _, v in points], label=field, linewidth=1.2)
    failed = [t for t, e in zip(s["t"], s["error"]) if e]
    if failed:
        ax.plot(failed, [0] * len(failed), "rx", markersize=4, label="stub_status failed")
    wc = doc["meta"]["params"].get("worker_connections")
    if wc is not None and wc <= 2 * max([v for v in s["active"] if v is not None] or [0]) + 10:
        _hline(ax, wc, "worker_connections (%d)" % wc, "#b00020")
    _timeout_line(ax, doc)
    ax.set_title("nginx stub_status")
    ax.set_xlabel("time since the case started (s)")
    ax.set_ylabel("connections")
    ax.legend(fontsize=8, loc="best")

    ax = axes[1][0]
    _shade_clients(ax, doc)
    for field, label in (("worker_vmsize_kb_max", "worker VmSize"), ("worker_vmrss_kb_max", "worker VmRSS"),
                         ("master_vmrss_kb", "master VmRSS")):
        points = [(t, v / 1024.0) for t, v in zip(m["t"], m[field]) if v is not None]
        if points:
            ax.plot([t for t, _ in points], [v for _, v in points], label=label, linewidth=1.2)
    ax.set_title("nginx memory")
    ax.set_xlabel("time since the case started (s)")
    ax.set_ylabel("MB")
    body = [(t, v / 1048576.0) for t, v in zip(m["t"], m.get("body_temp_bytes", [])) if v]
    if body:
        # On an axis of its own: 1 GB of spooled bodies would flatten the worker's few MB of growth.
        right = ax.twinx()
        right.plot([t for t, _ in body], [v for _, v in body], ":", color="#8c564b", linewidth=1.2,
                   label="request bodies in temp files")
        right.set_ylabel("temp-file MB", color="#8c564b")
        right.legend(fontsize=8, loc="lower right")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1][1]
    latencies = [c["end"] - c["start"] for c in doc["clients"] if c["end"] is not None and c["start"] is not None]
    counts = doc["summary"]["clients"]["status_counts"]
    if latencies:
        ax.hist(latencies, bins=min(40, max(5, len(latencies) // 5)), color="#4c72b0")
    ax.set_title("client outcomes: " + ", ".join("%s×%d" % kv for kv in counts.items()), fontsize=9)
    ax.set_xlabel("latency, start to end (s)")
    ax.set_ylabel("clients")

    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
