import { Module } from '@nestjs/common';
import { ApiKeysHttpController } from './api-keys/api-keys.http.controller';
import { BreakGlassHttpController } from './break-glass/break-glass.http.controller';
import { AttestationSigner } from './attestations/attestation-signer';
import { Attestations } from './attestations/attestations';
import { AttestationsHttpController } from './attestations/attestations.http.controller';
import { DecisionWaiters } from './decisions/decision-waiters';
import { InsightsHttpController } from './insights/insights.http.controller';
import { InsightsRepository } from './insights/insights.repository';
import { MeHttpController } from './me/me.http.controller';
import { OutcomesHttpController } from './outcomes/outcomes.http.controller';
import { ReadModelMessageController } from './read-model/read-model.message.controller';
import { RequestEventsHttpController } from './request-events/request-events.http.controller';
import { RequestViewRepository } from './requests/request-view.repository';
import { RequestVisibility } from './requests/request-visibility';
import { RequestsHttpController } from './requests/requests.http.controller';
import { ReviewInboxHttpController } from './reviews/review-inbox.http.controller';
import { ReviewInboxRepository } from './reviews/review-inbox.repository';
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
    ReviewInboxHttpController,
    BreakGlassHttpController,
    RequestEventsHttpController,
    AttestationsHttpController,
    InsightsHttpController,
    MeHttpController,
  ],
  providers: [RequestViewRepository, RequestVisibility, DecisionWaiters, ReviewInboxRepository, AttestationSigner, Attestations, InsightsRepository],
})
export class IntakeModule {}
