// The one setting the metrics endpoint reads. The service bootstrap and the gateway spread it
// into their specs, so METRICS_PORT is parsed and checked with everything else at start-up.
import { port } from "../config.js";

export const defaultMetricsPort = 9464;

export const metricsConfig = {
  METRICS_PORT: port({ doc: "port of the Prometheus /metrics endpoint (0 picks a free one)", default: defaultMetricsPort }),
};
