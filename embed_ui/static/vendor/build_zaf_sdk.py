"""Bundle the Zendesk App Framework SDK (npm: zendesk_app_framework_sdk, Apache-2.0) into one
browser script, ``zaf_sdk.js`` beside this file, which defines ``window.ZAFClient``.

The npm package ships CommonJS sources only, so this wraps each module in a tiny require shim.
Run: npm pack zendesk_app_framework_sdk@2.0.11 && tar xzf zendesk_app_framework_sdk-2.0.11.tgz
     python embed_ui/static/vendor/build_zaf_sdk.py package
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MODULES = ("./vendor/native-promise-only", "./utils", "./client", "./index")


def bundle(package: Path) -> str:
    version = json.loads((package / "package.json").read_text())["version"]
    parts = [
        f"/*! Zendesk App Framework SDK {version} (Apache-2.0; npm zendesk_app_framework_sdk),",
        " *  bundled for Countersign by embed_ui/static/vendor/build_zaf_sdk.py. */",
        "(function () {",
        "  var modules = {};",
    ]
    for name in MODULES:
        source = (package / "lib" / f"{name[2:]}.js").read_text()
        wrapper = "function (module, exports, require)"
        parts.append(f"  modules[{json.dumps(name)}] = {wrapper} {{\n{source}\n  }};")
    parts += [
        "  var cache = {};",
        "  function load(name) {",
        "    if (!cache[name]) {",
        "      var module = { exports: {} };",
        "      cache[name] = module;",
        "      modules[name](module, module.exports, load);",
        "    }",
        "    return cache[name].exports;",
        "  }",
        '  window.ZAFClient = load("./index");',
        "})();",
        "",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "zaf_sdk.js"
    target.write_text(bundle(Path(sys.argv[1])))
    print(target)
