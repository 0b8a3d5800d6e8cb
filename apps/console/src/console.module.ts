import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ProblemDetailsFilter } from '@agf/platform';
import { CONSOLE_CONFIG, type ConsoleConfig } from './console-config';
import { ConsoleApiHttpController } from './console-api.http.controller';
import { ConsoleHealthController } from './console-health.controller';
import { OidcHttpController } from './oidc.http.controller';
import { SessionGuard } from './session-guard';
import { SessionHttpController } from './session.http.controller';
import { SessionStore } from './sessions';
import { JetStreamLag, TechnicalHttpController } from './technical.http.controller';
import { Upstream } from './upstream';

@Module({})
export class ConsoleModule {
  static register(config: ConsoleConfig): DynamicModule {
    return {
      module: ConsoleModule,
      controllers: [ConsoleHealthController, SessionHttpController, OidcHttpController, ConsoleApiHttpController, TechnicalHttpController],
      providers: [
        { provide: CONSOLE_CONFIG, useValue: config },
        { provide: SessionStore, useValue: new SessionStore(config.sessionSecret, config.sessionIdleMs, config.sessionMaxMs) },
        Upstream,
        JetStreamLag,
        { provide: APP_GUARD, useClass: SessionGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
    };
  }
}
