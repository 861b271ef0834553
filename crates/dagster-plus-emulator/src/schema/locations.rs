//! Code-location mutations (§4.1), deployment-scoped: the document goes in a
//! `GenericScalar` and is validated by [`crate::domain::location_document`].

use async_graphql::{Context, Object, SimpleObject, Union};

use super::context::{not_permitted, request, scope_python_error, scope_target, simulation, store, ScopeTarget};
use super::errors::{InvalidLocationError, PythonError, UnauthorizedError};
use super::scalars::GenericScalar;
use super::workspace::WorkspaceEntry;
use crate::clock;
use crate::domain::location_document::{self, ParsedLocation, Requirements};
use crate::domain::locations::{self, LoadPlan};
use crate::domain::DomainError;
use crate::model::{CodeLocation, DeploymentAgentType};
use crate::simulation::SimulationSettings;
use crate::store::MutationError;

#[derive(Union)]
pub enum AddOrUpdateLocationFromDocumentMutationResult {
    WorkspaceEntry(WorkspaceEntry),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
    InvalidLocationError(InvalidLocationError),
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DeleteLocationSuccess {
    pub location_name: String,
}

#[derive(Union)]
pub enum DeleteLocationMutationResult {
    DeleteLocationSuccess(DeleteLocationSuccess),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
}

// `locations: [WorkspaceEntry]!`, nullable elements as in the real schema.
#[derive(SimpleObject, Clone, Debug)]
pub struct ReconcileLocationsSuccess {
    pub locations: Vec<Option<WorkspaceEntry>>,
}

#[derive(Union)]
pub enum ReconcileLocationsFromDocumentMutationResult {
    ReconcileLocationsSuccess(ReconcileLocationsSuccess),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
    InvalidLocationError(InvalidLocationError),
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DeployLocationsSuccess {
    pub locations: Vec<Option<WorkspaceEntry>>,
}

#[derive(Union)]
pub enum DeployLocationsMutationResult {
    DeployLocationsSuccess(DeployLocationsSuccess),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
    InvalidLocationError(InvalidLocationError),
}

/// Why a location mutation did not reach the store.
enum Refusal {
    Python(PythonError),
    Unauthorized(UnauthorizedError),
    Invalid(InvalidLocationError),
}

// The checks every location mutation makes first: a resolvable scope the
// caller may modify.
fn writable_target(ctx: &Context<'_>) -> async_graphql::Result<Result<ScopeTarget, Refusal>> {
    Ok(match scope_target(ctx)? {
        Err(e) => Err(Refusal::Python(scope_python_error(&e))),
        Ok(t) if !t.writable => Err(Refusal::Unauthorized(not_permitted(&t.deployment_name))),
        Ok(t) => Ok(t),
    })
}

fn requirements(target: &ScopeTarget) -> Requirements {
    Requirements { image_or_pex: target.agent_type == DeploymentAgentType::Serverless }
}

fn planner(sim: SimulationSettings, now: f64) -> impl Fn(&ParsedLocation) -> LoadPlan {
    move |p: &ParsedLocation| {
        locations::plan_load(&p.name, &p.spec, now, sim.location_load_delay_s(), sim.failing_image_pattern.as_deref())
    }
}

fn entries(locations: &[CodeLocation], admin: bool) -> Vec<Option<WorkspaceEntry>> {
    locations.iter().map(|l| Some(WorkspaceEntry::from_model(l, admin))).collect()
}

fn python(err: &MutationError) -> PythonError {
    PythonError::from_mutation(err)
}

#[derive(Default)]
pub struct LocationMutation;

#[Object]
impl LocationMutation {
    async fn add_or_update_location_from_document(
        &self,
        ctx: &Context<'_>,
        document: GenericScalar,
    ) -> async_graphql::Result<AddOrUpdateLocationFromDocumentMutationResult> {
        let target = match writable_target(ctx)? {
            Ok(t) => t,
            Err(refusal) => return Ok(refusal.into()),
        };
        let parsed = match location_document::parse_location(&document.0, requirements(&target)) {
            Ok(parsed) => parsed,
            Err(errors) => {
                return Ok(AddOrUpdateLocationFromDocumentMutationResult::InvalidLocationError(
                    InvalidLocationError::new(errors),
                ))
            }
        };
        let now = clock::now_seconds();
        let plan = planner(simulation(ctx)?, now)(&parsed);
        let admin = request(ctx)?.principal.is_admin();
        Ok(match store(ctx)?.mutate(|state| locations::upsert(state, target.deployment_id, parsed, now, plan)) {
            Ok(location) => AddOrUpdateLocationFromDocumentMutationResult::WorkspaceEntry(WorkspaceEntry::from_model(
                &location, admin,
            )),
            Err(e) => AddOrUpdateLocationFromDocumentMutationResult::PythonError(python(&e)),
        })
    }

    async fn delete_location(
        &self,
        ctx: &Context<'_>,
        location_name: String,
    ) -> async_graphql::Result<DeleteLocationMutationResult> {
        let target = match writable_target(ctx)? {
            Ok(t) => t,
            Err(Refusal::Unauthorized(u)) => return Ok(DeleteLocationMutationResult::UnauthorizedError(u)),
            Err(Refusal::Python(p)) => return Ok(DeleteLocationMutationResult::PythonError(p)),
            Err(Refusal::Invalid(i)) => {
                return Ok(DeleteLocationMutationResult::PythonError(PythonError::new(
                    i.message,
                    "DagsterInvalidConfigError",
                )))
            }
        };
        Ok(match store(ctx)?.mutate(|state| locations::delete(state, target.deployment_id, &location_name)) {
            Ok(()) => DeleteLocationMutationResult::DeleteLocationSuccess(DeleteLocationSuccess { location_name }),
            Err(MutationError::Domain(e @ DomainError::LocationNotFound(_))) => {
                DeleteLocationMutationResult::PythonError(PythonError::new(
                    e.to_string(),
                    "DagsterCloudLocationNotFoundError",
                ))
            }
            Err(e) => DeleteLocationMutationResult::PythonError(python(&e)),
        })
    }

    // Replaces the deployment's whole set of locations (`sync-locations`).
    async fn reconcile_locations_from_document(
        &self,
        ctx: &Context<'_>,
        document: GenericScalar,
    ) -> async_graphql::Result<ReconcileLocationsFromDocumentMutationResult> {
        let (target, parsed) = match parse_many(ctx, &document)? {
            Ok(ok) => ok,
            Err(refusal) => return Ok(refusal.into()),
        };
        let now = clock::now_seconds();
        let plan = planner(simulation(ctx)?, now);
        let admin = request(ctx)?.principal.is_admin();
        Ok(match store(ctx)?.mutate(|state| locations::reconcile(state, target.deployment_id, parsed, now, plan)) {
            Ok(done) => {
                ReconcileLocationsFromDocumentMutationResult::ReconcileLocationsSuccess(ReconcileLocationsSuccess {
                    locations: entries(&done, admin),
                })
            }
            Err(e) => ReconcileLocationsFromDocumentMutationResult::PythonError(python(&e)),
        })
    }

    // Adds or updates the listed locations, leaving others alone (`ci deploy`).
    async fn deploy_locations(
        &self,
        ctx: &Context<'_>,
        document: GenericScalar,
    ) -> async_graphql::Result<DeployLocationsMutationResult> {
        let (target, parsed) = match parse_many(ctx, &document)? {
            Ok(ok) => ok,
            Err(refusal) => return Ok(refusal.into()),
        };
        let now = clock::now_seconds();
        let plan = planner(simulation(ctx)?, now);
        let admin = request(ctx)?.principal.is_admin();
        Ok(match store(ctx)?.mutate(|state| locations::deploy(state, target.deployment_id, parsed, now, plan, false)) {
            Ok(done) => DeployLocationsMutationResult::DeployLocationsSuccess(DeployLocationsSuccess {
                locations: entries(&done, admin),
            }),
            Err(e) => DeployLocationsMutationResult::PythonError(python(&e)),
        })
    }
}

fn parse_many(
    ctx: &Context<'_>,
    document: &GenericScalar,
) -> async_graphql::Result<Result<(ScopeTarget, Vec<ParsedLocation>), Refusal>> {
    let target = match writable_target(ctx)? {
        Ok(t) => t,
        Err(refusal) => return Ok(Err(refusal)),
    };
    Ok(match location_document::parse_locations(&document.0, requirements(&target)) {
        Ok(parsed) => Ok((target, parsed)),
        Err(errors) => Err(Refusal::Invalid(InvalidLocationError::new(errors))),
    })
}

impl From<Refusal> for AddOrUpdateLocationFromDocumentMutationResult {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Python(p) => Self::PythonError(p),
            Refusal::Unauthorized(u) => Self::UnauthorizedError(u),
            Refusal::Invalid(i) => Self::InvalidLocationError(i),
        }
    }
}

impl From<Refusal> for ReconcileLocationsFromDocumentMutationResult {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Python(p) => Self::PythonError(p),
            Refusal::Unauthorized(u) => Self::UnauthorizedError(u),
            Refusal::Invalid(i) => Self::InvalidLocationError(i),
        }
    }
}

impl From<Refusal> for DeployLocationsMutationResult {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Python(p) => Self::PythonError(p),
            Refusal::Unauthorized(u) => Self::UnauthorizedError(u),
            Refusal::Invalid(i) => Self::InvalidLocationError(i),
        }
    }
}
