//! The container's platform from its image (`Os`, `Architecture`, `Variant` of image inspect):
//! what the image was built for, which is what an agent must match, even under emulation.

use super::{Container, errors};
use crate::error::Result;
use crate::platform::platform_from;
use crate::types::PlatformInfo;

/// The platform the image declares; fields it leaves out stay empty.
pub async fn from_image(c: &Container) -> Result<PlatformInfo> {
    let image = c
        .docker
        .inspect_image(&c.image)
        .await
        .map_err(|e| errors::map(&c.endpoint, "inspect image", &c.image, e))?;
    Ok(platform_from(
        image.os.as_deref().unwrap_or_default(),
        image.architecture.as_deref().unwrap_or_default(),
        image.variant.as_deref().unwrap_or_default(),
    ))
}
