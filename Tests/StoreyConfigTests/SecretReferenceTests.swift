import StoreyConfig
import Testing

@Suite struct SecretReferenceTests {
    @Test func credentialSystemdDidNotPassSaysWhereTheSecretGoes() throws {
        // The packaged unit loads every credential as optional: a missing one is simply absent.
        let folder = ConfigFolder()
        _ = folder.write("mqtt-password", "s3cret")
        let error = #expect(throws: SecretError.self) {
            try SecretReference.credential("smtp-password").read(environment: ["CREDENTIALS_DIRECTORY": folder.path])
        }
        #expect(error?.message.contains("credential \"smtp-password\" was not passed") == true)
        #expect(error?.message.contains("/etc/credstore/storey.smtp-password") == true)
    }
}
