// Starts `examfee serve` as a test needs it: a fresh SQLite database and sandbox store
// in a temporary folder, demo data, the test captcha answer, a bootstrap operator, the
// in-process sandbox, the built web client and console, and a free port chosen by the OS.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
const BINARY = process.env.EXAMFEE_BIN || path.join(TARGET, 'debug', 'examfee');
const WEB_DIR = path.join(ROOT, 'web', 'dist');
const CONSOLE_DIR = path.join(ROOT, 'console', 'dist');
const SCREENSHOTS = path.join(ROOT, 'e2e', 'screenshots');
const CAPTCHA_ANSWER = 'e2e42';
const ADMIN = { username: 'admin', password: 'Admin12345' };

/** Resolves once the server prints its address and the demo logins. */
async function startServer(extraEnv = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examfee-e2e-'));
  const env = {
    ...process.env,
    EXAMFEE_LISTEN: '127.0.0.1:0',
    DATABASE_URL: `sqlite://${path.join(dir, 'examfee.db')}`,
    EXAMFEE_SANDBOX_DB: path.join(dir, 'sandbox.db'),
    EXAMFEE_DEMO: '1',
    EXAMFEE_CAPTCHA_TEST_ANSWER: CAPTCHA_ANSWER,
    EXAMFEE_BOOTSTRAP_ADMIN: `${ADMIN.username}:${ADMIN.password}`,
    EXAMFEE_RATE_LIMIT_PER_IP: '0',
    EXAMFEE_WEB_DIR: WEB_DIR,
    EXAMFEE_CONSOLE_DIR: CONSOLE_DIR,
    // Refunds are sent by the background worker: a short interval keeps tests quick.
    EXAMFEE_SYNC_INTERVAL_SECS: '1',
    RUST_LOG: 'warn',
    ...extraEnv,
  };
  const child = spawn(BINARY, ['serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`examfee did not start in 60 s:\n${output}`)), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`examfee exited with ${code}:\n${output}`));
    });
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const url = output.match(/web client\s+(http:\/\/\S+?)\/?\s/);
      const candidates = [...output.matchAll(/^\s+(\S+)\s+(\d{17}[\dX])\s+initial password (\S+)$/gm)]
        .map(([, name, idNumber, password]) => ({ name, idNumber, password }));
      if (url && candidates.length >= 3) {
        clearTimeout(timer);
        resolve({ url: url[1], candidates });
      }
    });
  });
  const { url, candidates } = await ready;
  return {
    url,
    candidates,
    captchaAnswer: CAPTCHA_ANSWER,
    admin: ADMIN,
    log: () => output,
    async stop() {
      child.removeAllListeners('exit');
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startServer, BINARY, WEB_DIR, CONSOLE_DIR, SCREENSHOTS };
