import { Controller, Get } from '@nestjs/common';
import { PublicRoute } from './session-guard';

/** Liveness and readiness: the console holds no connection it must wait for (services are asked per call). */
@Controller('health')
export class ConsoleHealthController {
  @Get('live')
  @PublicRoute()
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @PublicRoute()
  ready() {
    return { status: 'ok' };
  }
}
