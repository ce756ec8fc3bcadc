// Health checks, Prometheus metrics and the OpenAPI document.
import { statfs } from 'node:fs/promises';
import { HTTPResponse } from 'h3';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { Health, HealthDetails } from '../../wire/server.ts';
import { errorResponses, jsonContent as json } from './openapi-shared.ts';
import { ffmpegUnavailableHint } from '../../media/index.ts';

const health: RouteDef = {
  method: 'GET',
  path: '/health',
  async handler(event, ctx) {
    try {
      await ctx.store.ping();
      return { status: 'healthy' } satisfies Health;
    } catch {
      event.res.status = 503;
      return { status: 'unhealthy' } satisfies Health;
    }
  },
  openapi: {
    summary: 'Liveness: healthy when the database can be read',
    responses: {
      '200': { description: 'Healthy', content: json(Health) },
      '503': { description: 'Unhealthy', content: json(Health) },
    },
  },
};

const healthDetails: RouteDef = {
  method: 'GET',
  path: '/api/v1/health',
  async handler(event, ctx) {
    let database: HealthDetails['database'];
    try {
      await ctx.store.ping();
      database = { kind: ctx.store.kind, status: 'ok' };
    } catch {
      database = { kind: ctx.store.kind, status: 'error', error: 'the database cannot be read' };
    }
    let disk: HealthDetails['disk'];
    try {
      const s = await statfs(ctx.config.dataDirPath);
      disk = { path: ctx.config.dataDirPath, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch {
      disk = { path: ctx.config.dataDirPath, freeBytes: null, totalBytes: null };
    }
    const healthy = database.status === 'ok';
    if (!healthy) event.res.status = 503;
    const ff = await ctx.media.ffmpeg();
    return {
      status: healthy ? 'healthy' : 'unhealthy',
      version: ctx.version,
      uptimeSec: Math.round((Date.now() - ctx.startedAt) / 1000),
      database,
      disk,
      // Video upload works only with ffmpeg; m3w runs without it.
      ffmpeg: ff
        ? {
            available: true,
            path: ff.ffmpeg.path,
            source: ff.ffmpeg.source,
            version: ff.ffmpeg.version,
            ffprobe: ff.ffprobe.path,
            encoder: ff.encoder,
            workingEncoders: ff.workingEncoders,
            brokenEncoders: ff.brokenEncoders,
          }
        : { available: false, hint: ffmpegUnavailableHint(ctx.config.ffmpegPath) },
    } satisfies HealthDetails;
  },
  openapi: {
    summary: 'Health details: database, free disk in the data directory, version, uptime',
    responses: {
      '200': { description: 'Healthy', content: json(HealthDetails) },
      '503': { description: 'The database cannot be read', content: json(HealthDetails) },
    },
  },
};

const metrics: RouteDef = {
  method: 'GET',
  path: '/metrics',
  async handler(_event, ctx) {
    if (!ctx.config.enableMetrics) throw new ApiError('NOT_FOUND', 'metrics are disabled (ENABLE_METRICS=false)');
    return new HTTPResponse(await ctx.metrics.registry.metrics(), {
      headers: { 'content-type': ctx.metrics.registry.contentType },
    });
  },
  openapi: {
    summary: 'Prometheus metrics (404 when ENABLE_METRICS=false)',
    responses: {
      '200': {
        description: 'Prometheus text exposition format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
      ...errorResponses(404),
    },
  },
};

export const operationRoutes: RouteDef[] = [health, healthDetails, metrics];
