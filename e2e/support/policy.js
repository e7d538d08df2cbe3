// Collects what the browser reports against the Content-Security-Policy, in every page
// of a context, from the first script on: `securitypolicyviolation` events and CSP
// console errors. Tests assert the list stays empty.

async function watchPolicy(context) {
  const violations = [];
  await context.exposeBinding('reportPolicyViolation', (_source, text) => violations.push(text));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.reportPolicyViolation(
        `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber} (${document.location.pathname})`,
      );
    });
  });
  context.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) violations.push(`console: ${message.text()}`);
  });
  return violations;
}

module.exports = { watchPolicy };
