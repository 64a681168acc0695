#!/usr/bin/env python3
"""Where the wasm module's code bytes are: raw bytes per function, summed by
part of the code, from the module `scripts/build-pkg.sh` builds, run through
the same wasm-opt passes with names kept (-g), since the shipped module has
none. Gzip is not attributed per function; it is about 2.4:1 on the code.

    bash scripts/build-pkg.sh && python3 scripts/wasm-breakdown.py [--top N] [--match REGEX]

--top N lists the N largest functions (of those matching REGEX, if given).
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW = os.path.join(ROOT, 'target/wasm32-unknown-unknown/wasm-release/simply_mcp_oauth.wasm')
WASM_OPT = os.path.join(ROOT, 'pkg/node_modules/.bin/wasm-opt')
# Keep in step with scripts/build-pkg.sh.
WASM_OPT_FLAGS = ['-Oz', '--converge', '--low-memory-unused', '--strip-producers']

# First match wins: (part, pattern on the demangled function name).
PARTS = [
    ('storage: sharded / Durable Object (with what it inlines)', r'storage::sharded|[Dd]urable|StorageOp'),
    ('storage: KvStorage and its hosts', r'storage::kv|KvStorage|kv_host|memory_host'),
    ('storage: records (serde impls)', r'storage::records|storage::_'),
    ('http layer (src/http)', r'simply_mcp_oauth::http'),
    ('provider and CIMD', r'simply_mcp_oauth::(provider|cimd)'),
    ('JS API, src/wasm (with what its methods inline)', r'simply_mcp_oauth::wasm|future_to_promise'),
    ('other crate code (config, uri, crypto, params)', r'simply_mcp_oauth'),
    ('serde_json', r'serde_json'),
    ('serde-wasm-bindgen', r'serde_wasm_bindgen'),
    ('serde (generic)', r'serde'),
    ('drop glue', r'^core::ptr::drop_in_place'),
    ('js-sys, web-sys, wasm-bindgen', r'js_sys|web_sys|wasm_bindgen|externref|shim'),
    ('http and bytes crates', r'\bhttp::|\bbytes::'),
    ('core::fmt', r'fmt'),
    ('allocator (talc)', r'talc'),
    ('sha2', r'sha2'),
]


def leb(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def sections(data):
    i = 8
    while i < len(data):
        kind = data[i]
        size, i = leb(data, i + 1)
        yield kind, data[i:i + size]
        i += size


def imported_functions(body):
    count, i = leb(body, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            length, i = leb(body, i)
            i += length
        kind = body[i]
        i += 1
        if kind == 0:
            functions += 1
            _, i = leb(body, i)
        elif kind in (1, 2):  # table (element type first) or memory: limits
            i += kind == 1
            flags = body[i]
            _, i = leb(body, i + 1)
            if flags & 1:
                _, i = leb(body, i)
        elif kind == 3:
            i += 2
        else:
            raise ValueError(f'import kind {kind}')
    return functions


def functions(path):
    data = open(path, 'rb').read()
    imports, bodies, names, other = 0, [], {}, collections.Counter()
    for kind, body in sections(data):
        if kind == 2:
            imports = imported_functions(body)
        elif kind == 10:
            count, i = leb(body, 0)
            for _ in range(count):
                size, i = leb(body, i)
                bodies.append(size)
                i += size
        elif kind == 0:
            length, i = leb(body, 0)
            if body[i:i + length] == b'name':
                i += length
                while i < len(body):
                    sub = body[i]
                    size, i = leb(body, i + 1)
                    if sub == 1:
                        count, j = leb(body, i)
                        for _ in range(count):
                            index, j = leb(body, j)
                            length, j = leb(body, j)
                            names[index] = body[j:j + length].decode('utf-8', 'replace')
                            j += length
                    i += size
        elif kind == 11:
            other['data'] += len(body)
    named = [(names.get(imports + k, f'function {imports + k}'), size) for k, size in enumerate(bodies)]
    return named, other


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--top', type=int, default=0)
    parser.add_argument('--match')
    args = parser.parse_args()
    if not os.path.exists(RAW):
        sys.exit(f'{RAW} is missing: run bash scripts/build-pkg.sh first')
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(['wasm-bindgen', '--target', 'web', '--out-dir', tmp, '--out-name', 'simply_mcp_oauth', RAW],
                       check=True)
        named = os.path.join(tmp, 'named.wasm')
        subprocess.run([WASM_OPT, *WASM_OPT_FLAGS, '-g', os.path.join(tmp, 'simply_mcp_oauth_bg.wasm'), '-o', named],
                       check=True)
        funcs, other = functions(named)
    total = sum(size for _, size in funcs)
    parts = collections.Counter()
    for name, size in funcs:
        part = next((p for p, pattern in PARTS if re.search(pattern, name)), 'std, core, alloc, other')
        parts[part] += size
    print(f'code: {total} bytes in {len(funcs)} functions; data: {other["data"]} bytes (raw, names kept)')
    for part, size in parts.most_common():
        print(f'{size:8d}  {100 * size / total:5.1f}%  {part}')
    if args.top:
        chosen = [(size, name) for name, size in funcs if not args.match or re.search(args.match, name)]
        print(f'\nlargest functions{" matching " + args.match if args.match else ""}:')
        for size, name in sorted(chosen, reverse=True)[:args.top]:
            print(f'{size:8d}  {name[:160]}')


if __name__ == '__main__':
    main()
