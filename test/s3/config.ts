import type { S3Server } from '../helpers/s3-server.js';

/** Registry config over a bucket, as distribution's s3 driver is configured. */
export function s3Config(server: S3Server, bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    storage: {
      s3: {
        bucket,
        region: server.region,
        regionendpoint: server.endpoint,
        accesskey: server.accessKey,
        secretkey: server.secretKey,
        forcepathstyle: true,
        secure: false,
        rootdirectory: '/registry',
      },
      delete: { enabled: true },
      redirect: { disable: true },
      ...extra,
    },
  };
}
