// Health checks, Prometheus metrics and the OpenAPI document.
import { statfs } from 'node:fs/promises';
import { HTTPResponse } from 'h3';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from './openapi-shared.ts';
import { FFMPEG_INSTALL_HINT } from '../../media/index.ts';

const health: RouteDef = {
  method: 'GET',
  path: '/health',
  async handler(event, ctx) {
    try {
      await ctx.store.ping();
      return { status: 'healthy' };
    } catch {
      event.res.status = 503;
      return { status: 'unhealthy' };
    }
  },
  openapi: {
    summary: 'Liveness: healthy when the database can be read',
    responses: {
      '200': {
        description: 'Healthy',
        content: { 'application/json': { schema: { type: 'object', properties: { status: { const: 'healthy' } } } } },
      },
      '503': {
        description: 'Unhealthy',
        content: { 'application/json': { schema: { type: 'object', properties: { status: { const: 'unhealthy' } } } } },
      },
    },
  },
};

const healthDetails: RouteDef = {
  method: 'GET',
  path: '/api/v1/health',
  async handler(event, ctx) {
    let database: { kind: string; status: 'ok' | 'error'; error?: string };
    try {
      await ctx.store.ping();
      database = { kind: ctx.store.kind, status: 'ok' };
    } catch {
      database = { kind: ctx.store.kind, status: 'error', error: 'the database cannot be read' };
    }
    let disk: { path: string; freeBytes: number | null; totalBytes: number | null };
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
        : { available: false, hint: FFMPEG_INSTALL_HINT },
    };
  },
  openapi: {
    summary: 'Health details: database, free disk in the data directory, version, uptime',
    responses: {
      '200': {
        description: 'Healthy',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['status', 'version', 'uptimeSec', 'database', 'disk'],
              properties: {
                status: { enum: ['healthy', 'unhealthy'] },
                version: { type: 'string' },
                uptimeSec: { type: 'integer' },
                database: {
                  type: 'object',
                  properties: { kind: { type: 'string' }, status: { enum: ['ok', 'error'] } },
                },
                ffmpeg: {
                  type: 'object',
                  description: 'which ffmpeg is used, its version and the H.264 encoders that passed a test encode',
                  properties: {
                    available: { type: 'boolean' },
                    path: { type: 'string' },
                    source: { type: 'string' },
                    version: { type: 'string' },
                    encoder: { type: 'string' },
                    workingEncoders: { type: 'array', items: { type: 'string' } },
                    hint: { type: 'string' },
                  },
                },
                disk: {
                  type: 'object',
                  properties: {
                    path: { type: 'string' },
                    freeBytes: { type: ['integer', 'null'] },
                    totalBytes: { type: ['integer', 'null'] },
                  },
                },
              },
            },
          },
        },
      },
      '503': { description: 'The database cannot be read' },
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
