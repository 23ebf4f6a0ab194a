"""The case module's option documentation, generated from the parameter table (runtime/params.py: the spec, the
bounds, the grammars and the descriptions), in plugins/modules/nginx_proxy_case.py between its two markers.

    python -m ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.module_docs --write
    python -m ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.module_docs --check

tests/unit/test_module_docs.py fails when the file is not what the table gives, so a new option is one entry of the
table (and the code that uses it): nothing else is written by hand."""

import os
import sys

import yaml

from ..runtime import params

MODULE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "modules",
                      "nginx_proxy_case.py")
BEGIN = "  # BEGIN options, generated from plugins/module_utils/runtime/params.py (judge/module_docs.py --write)\n"
END = "  # END options\n"


def _number(value):
    return str(int(value)) if float(value).is_integer() else str(value)


def _option(name, spec, paragraphs, subs=None):
    out = {"description": list(paragraphs)}
    if name in params.BOUNDS:
        low, high = params.BOUNDS[name]
        out["description"].append("From %s to %s; any other value is refused before anything runs."
                                  % (_number(low), _number(high)))
    if len(out["description"]) == 1:
        out["description"] = out["description"][0]
    for key in ("type", "elements", "required", "default", "choices"):
        if key in spec and not (key == "required" and not spec[key]):
            out[key] = spec[key]
    if spec.get("options"):
        out["suboptions"] = {sub: _option(sub, subspec, (subs or {}).get(sub) or [sub])
                             for sub, subspec in spec["options"].items()}
    return out


def options():
    """{option: its documentation}: every option of the spec and of the action plugin's, in the table's order."""
    spec = dict(params.ARGUMENT_SPEC, **params.CONTROLLER_OPTIONS)
    missing = sorted(set(spec) - set(params.DOCS))
    if missing:
        raise ValueError("params.DOCS has no description of %s: add one beside its spec" % ", ".join(missing))
    return {name: _option(name, spec[name], params.DOCS[name], params.SUB_DOCS.get(name)) for name in spec}


class _Dumper(yaml.SafeDumper):
    """Block style, but for lists of short values (choices, defaults), which read better on one line."""

    def represent_list(self, data):
        short = all(not isinstance(v, (dict, list)) and len(str(v)) < 40 for v in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=short and bool(data))


_Dumper.add_representer(list, _Dumper.represent_list)


def block():
    """The options block as it stands in the module's DOCUMENTATION, markers included."""
    text = yaml.dump({"options": options()}, Dumper=_Dumper, sort_keys=False, width=115, allow_unicode=True,
                     default_flow_style=False)
    return BEGIN + text + END


def render(module_text):
    """The module's text with its options block replaced by the generated one."""
    start, end = module_text.index(BEGIN), module_text.index(END) + len(END)
    return module_text[:start] + block() + module_text[end:]


def main(argv):
    with open(MODULE) as handle:
        text = handle.read()
    new = render(text)
    if "--write" in argv:
        if new != text:
            with open(MODULE, "w") as handle:
                handle.write(new)
        return 0
    if new != text:
        print("%s: its option documentation is not what runtime/params.py gives: run python -m "
              "ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.module_docs --write" % MODULE)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
