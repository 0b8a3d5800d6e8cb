import { Module } from '@nestjs/common';
import { DecisionWaiters } from './decisions/decision-waiters';
import { OutcomesHttpController } from './outcomes/outcomes.http.controller';
import { ReadModelMessageController } from './read-model/read-model.message.controller';
import { RequestViewRepository } from './requests/request-view.repository';
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
  ],
  providers: [RequestViewRepository, DecisionWaiters],
})
export class IntakeModule {}
