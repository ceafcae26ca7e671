/**
 * Debian's stock vpnbridge against its own recorded answers (expected-shapes.json, made by record.ts): guards the
 * recording and the harness, and is the template the sebridge conformance test follows (see suite.ts).
 */
import { conformanceSuite } from './suite.ts';
import { conformanceTarget, startStockBridge, stockBridgeCapability } from './stock-bridge.ts';

conformanceSuite({
  title: 'stock vpnbridge',
  capability: stockBridgeCapability(),
  start: async () => {
    const bridge = await startStockBridge({ withServer: true });
    return { target: conformanceTarget(bridge), stop: () => bridge.stop() };
  },
});
