import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { bodyParserProblems, EXIT_CONFIG_ERROR, perClientRateLimit, repositoryRoot } from '@agf/platform';
import express from 'express';
import helmet from 'helmet';
import { type ConsoleConfig, loadConsoleConfig } from './console-config';
import { ConsoleModule } from './console.module';

const logger = new Logger('console');
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

let config: ConsoleConfig;
try {
  config = loadConsoleConfig();
} catch (error) {
  logger.error((error as Error).message);
  process.exit(EXIT_CONFIG_ERROR);
}

/** The single-page app `npm run build` puts beside the compiled server (vite build). */
const WEB_ROOT = join(repositoryRoot(__dirname), 'dist', 'apps', 'console', 'web');

async function main(): Promise<void> {
  const logLevel = (process.env['LOG_LEVEL'] ?? 'log') as LogLevel;
  const app = await NestFactory.create<NestExpressApplication>(ConsoleModule.register(config), {
    bodyParser: false,
    logger: LOG_LEVELS.slice(0, Math.max(LOG_LEVELS.indexOf(logLevel), 1) + 1),
  });
  app.disable('x-powered-by');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          // recharts sets inline style attributes on its SVG.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          upgradeInsecureRequests: config.secureCookies ? [] : null,
        },
      },
      strictTransportSecurity: config.secureCookies,
    }),
  );
  app.use(perClientRateLimit(Number(process.env['AGF_RATE_LIMIT_PER_MINUTE'] ?? 6000)));
  app.use('/console-api', express.json({ limit: '64kb' }));
  app.use(bodyParserProblems);
  if (!existsSync(join(WEB_ROOT, 'index.html'))) logger.warn(`no web app at ${WEB_ROOT}: run npm run build`);
  // The app's files (hashed names, cached for long), and index.html for every other page path (client-side routes).
  app.use('/assets', express.static(join(WEB_ROOT, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false }));
  const http = app.getHttpAdapter().getInstance() as express.Express;
  http.get(/^\/(?!console-api\/|health\/|assets\/).*/, (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(join(WEB_ROOT, 'index.html'), (error) => {
      if (error && !res.headersSent) res.status(503).type('text/plain').send('the console web app is not built: run npm run build');
    });
  });
  app.enableShutdownHooks();
  await app.listen(config.port, '0.0.0.0');
  logger.log(`ready on :${config.port} (${config.oidc ? 'OIDC and API key' : 'API key'} sign-in; ${config.publicUrl.origin})`);
}

void main();
