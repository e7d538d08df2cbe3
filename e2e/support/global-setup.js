// Checks what every test needs before any starts, so a missing build fails once and
// clearly instead of in every test; and says where the screenshots go.
const fs = require('node:fs');
const path = require('node:path');
const { BINARY, WEB_DIR, CONSOLE_DIR, SCREENSHOTS } = require('./server');

module.exports = async () => {
  for (const [what, file, how] of [
    ['the examfee binary', BINARY, 'cargo build -p examfee'],
    ['the web client', path.join(WEB_DIR, 'index.html'), 'scripts/build-web.sh'],
    ['the operator console', path.join(CONSOLE_DIR, 'index.html'), 'scripts/build-web.sh'],
  ]) {
    if (!fs.existsSync(file)) throw new Error(`${what} is missing (${file}); run ${how}`);
  }
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  console.log(`Screenshots of the main screens go to ${SCREENSHOTS}`);
};
