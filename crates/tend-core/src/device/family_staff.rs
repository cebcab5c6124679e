//! The family portal's staff side for the signed-in user (see
//! [`crate::family_staff`]): online, for a resident of this device's roster.

use tend_domain::wire::FamilyUpdateKind;

use super::DeviceRuntime;
use crate::family_staff::{self, FamilyCorner, NewVisitorCode, SharedUpdate, VisitorCodeSummary};
use crate::Result;

const NEEDS: &str = "the family portal";

impl DeviceRuntime {
    /// A resident's visitor codes, what was shared with family and their messages.
    pub async fn family_corner(&self, patient_id: i64) -> Result<FamilyCorner> {
        let (_, api) = self.online_user(NEEDS).await?;
        family_staff::corner(&api, patient_id).await
    }

    /// Issues a visitor code for a resident's family (shown once).
    pub async fn issue_visitor_code(
        &self,
        patient_id: i64,
        visitor_name: &str,
        relationship: &str,
        expires_in_days: i32,
    ) -> Result<NewVisitorCode> {
        self.clinical()?;
        let request = family_staff::code_request(visitor_name, relationship, expires_in_days)?;
        let (_, api) = self.online_user(NEEDS).await?;
        family_staff::issue_code(&api, patient_id, &request).await
    }

    /// Revokes a visitor code: it opens nothing from now on.
    pub async fn revoke_visitor_code(
        &self,
        patient_id: i64,
        code_id: i64,
    ) -> Result<VisitorCodeSummary> {
        let (_, api) = self.online_user(NEEDS).await?;
        family_staff::revoke_code(&api, patient_id, code_id).await
    }

    /// Shares an update (or an answer to a message) with the resident's family.
    pub async fn share_with_family(
        &self,
        patient_id: i64,
        kind: FamilyUpdateKind,
        body: &str,
    ) -> Result<SharedUpdate> {
        self.clinical()?;
        let request = family_staff::update_request(kind, body)?;
        let (_, api) = self.online_user(NEEDS).await?;
        family_staff::share(&api, patient_id, &request).await
    }
}
