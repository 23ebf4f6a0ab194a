"""One figure per case and host: socket states with the accept queue, stub_status, memory, client outcomes."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STATE_COLOURS = {"01": "#4c72b0", "02": "#dd8452", "03": "#55a868", "04": "#c44e52", "00": "#8172b3"}


def _shade_clients(ax, doc):
    window = doc["meta"].get("clients_window")
    if window:
        ax.axvspan(window[0], window[1], color="#eeeeee", zorder=0)


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
    ax.set_title("/proc/net/unix lines of the upstream path, by state")
    ax.set_xlabel("s")
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
    ax.set_title("nginx stub_status")
    ax.set_xlabel("s")
    ax.legend(fontsize=8, loc="best")

    ax = axes[1][0]
    _shade_clients(ax, doc)
    for field, label in (("worker_vmsize_kb_max", "worker VmSize"), ("worker_vmrss_kb_max", "worker VmRSS"),
                         ("master_vmrss_kb", "master VmRSS")):
        points = [(t, v / 1024.0) for t, v in zip(m["t"], m[field]) if v is not None]
        if points:
            ax.plot([t for t, _ in points], [v for _, v in points], label=label, linewidth=1.2)
    body = [(t, v / 1048576.0) for t, v in zip(m["t"], m.get("body_temp_bytes", [])) if v]
    if body:
        ax.plot([t for t, _ in body], [v for _, v in body], ":", label="request bodies in temp files", linewidth=1.2)
    ax.set_title("nginx memory (MB)")
    ax.set_xlabel("s")
    ax.legend(fontsize=8, loc="best")

    ax = axes[1][1]
    latencies = [c["end"] - c["start"] for c in doc["clients"] if c["end"] is not None and c["start"] is not None]
    counts = doc["summary"]["clients"]["status_counts"]
    if latencies:
        ax.hist(latencies, bins=min(40, max(5, len(latencies) // 5)), color="#4c72b0")
    ax.set_title("client latency (s): " + ", ".join("%s×%d" % kv for kv in counts.items()), fontsize=9)
    ax.set_xlabel("s")
    ax.set_ylabel("clients")

    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
