import { Module } from '@nestjs/common';
import { ApiKeysHttpController } from './api-keys/api-keys.http.controller';
import { DecisionWaiters } from './decisions/decision-waiters';
import { OutcomesHttpController } from './outcomes/outcomes.http.controller';
import { ReadModelMessageController } from './read-model/read-model.message.controller';
import { RequestViewRepository } from './requests/request-view.repository';
import { RequestVisibility } from './requests/request-visibility';
import { RequestsHttpController } from './requests/requests.http.controller';
import { ReviewsHttpController } from './reviews/reviews.http.controller';
import { SubmitRequestHttpController } from './submit-request/submit-request.http.controller';
import { SubmitRequestMessageController } from './submit-request/submit-request.message.controller';

@Module({
  controllers: [
    SubmitRequestHttpController,
    SubmitRequestMessageController,
    RequestsHttpController,
    ReviewsHttpController,
    OutcomesHttpController,
    ReadModelMessageController,
    ApiKeysHttpController,
  ],
  providers: [RequestViewRepository, RequestVisibility, DecisionWaiters],
})
export class IntakeModule {}
