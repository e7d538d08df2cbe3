// Starts the operator console. A file of its own rather than an inline script, so that
// the Content-Security-Policy allows no inline script at all; scripts/build-web.sh
// fills in the hashed names and hashes this file too.
import init from "/admin/assets/{{JS}}";
init({ module_or_path: "/admin/assets/{{WASM}}" });
