import type { AssignmentStatus, DeploymentRequest, ExpertKind, ExpertType, RiskAssessed, TierLevel } from '@agf/contracts';

/** What the CoE knows of a risk assessment: everything but the request it carries. */
export type RiskView = Omit<RiskAssessed, 'request'>;

export type AssignmentRole = 'validator' | 'standard' | 'strategic' | 'oversight';
export type { AssignmentStatus };
export type Priority = 'low' | 'normal' | 'high' | 'critical';
export type Verdict = 'approve' | 'reject' | 'conditional';

/** An expert of the registry as the planner sees it, with its current load. */
export interface ExpertCandidate {
  id: string;
  type: ExpertKind;
  expertType: ExpertType;
  level: 'standard' | 'strategic';
  runtime: 'builtin' | 'external';
  specialties: string[];
  capacity: number;
  openReviews: number;
  /** The subjects bound to answer for it (policy `principal:`): none of them reviews their own request. */
  principal: readonly string[];
  /** Registry state (absent: takes work): `false` takes no new work until set back. */
  available?: boolean;
  /** Takes no new work between these times. */
  away?: { from: string; until: string } | null;
  /** A deactivated (removed) expert takes no new work. */
  active?: boolean;
}

export interface PlannedAssignment {
  assignmentId: string;
  expertId: string;
  expertType: ExpertType;
  expertKind: ExpertKind;
  runtime: 'builtin' | 'external';
  role: AssignmentRole;
  scope: string[];
  tierLevel: TierLevel;
  priority: Priority;
  slaHours: number;
  assignedAt: Date;
  slaDueAt: Date;
}

/** A request's assignment with its answer, as the decision reads it. */
export interface AssignmentState {
  assignmentId: string;
  expertId: string;
  expertType: ExpertType;
  expertKind: ExpertKind;
  role: AssignmentRole;
  status: AssignmentStatus;
  decision: Verdict | null;
  comments: string | null;
  conditions: string[];
  confidence: number | null;
  completedAt: string | null;
}

export interface SlaHours {
  tier_0: number;
  tier_1: number;
  tier_2: number;
}

export type { DeploymentRequest };
